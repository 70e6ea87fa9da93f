"""Text to learn from: the course's generated corpus, its facts, and readers for other texts.

`default_corpus()` writes about a million characters of simple English prose from templates:
short lessons on countries and their capitals, the colours of things, animals, adding and taking
away, little stories, and quiz sheets (questions with no answers). Because the facts are repeated
many times, mostly in one canonical sentence ("The capital of France is Paris."), even a tiny model
trained for a few minutes learns to complete them. `FACTS` lists those completions and `qa_pairs()`
turns the same facts into questions and answers for fine-tuning.

Everything here runs offline. `download_corpus` is the one optional exception: it fetches a public
corpus (Tiny Shakespeare) for learners who want to try a real text.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# The facts. Each family is a plain table; the prose templates and FACTS are both built from it.
# ---------------------------------------------------------------------------------------------

# (country, capital, continent)
COUNTRIES = [
    ("France", "Paris", "Europe"), ("Spain", "Madrid", "Europe"), ("Italy", "Rome", "Europe"),
    ("Germany", "Berlin", "Europe"), ("Portugal", "Lisbon", "Europe"),
    ("Greece", "Athens", "Europe"), ("Poland", "Warsaw", "Europe"), ("Norway", "Oslo", "Europe"),
    ("Sweden", "Stockholm", "Europe"), ("Finland", "Helsinki", "Europe"),
    ("Ireland", "Dublin", "Europe"), ("Austria", "Vienna", "Europe"),
    ("Hungary", "Budapest", "Europe"), ("Russia", "Moscow", "Europe"),
    ("Egypt", "Cairo", "Africa"), ("Kenya", "Nairobi", "Africa"), ("Ghana", "Accra", "Africa"),
    ("Morocco", "Rabat", "Africa"), ("Nigeria", "Abuja", "Africa"),
    ("Japan", "Tokyo", "Asia"), ("China", "Beijing", "Asia"), ("India", "New Delhi", "Asia"),
    ("Thailand", "Bangkok", "Asia"), ("Vietnam", "Hanoi", "Asia"), ("Turkey", "Ankara", "Asia"),
    ("Peru", "Lima", "South America"), ("Chile", "Santiago", "South America"),
    ("Argentina", "Buenos Aires", "South America"), ("Colombia", "Bogota", "South America"),
    ("Canada", "Ottawa", "North America"), ("Mexico", "Mexico City", "North America"),
    ("Cuba", "Havana", "North America"), ("Australia", "Canberra", "Oceania"),
    ("New Zealand", "Wellington", "Oceania"),
]

# (subject as it starts a sentence, verb, colour, one of them for "a yellow banana")
COLOURS = [
    ("The sky", "is", "blue", None), ("The sea", "is", "blue", None),
    ("Grass", "is", "green", None), ("Leaves", "are", "green", "leaf"),
    ("Frogs", "are", "green", "frog"), ("Bananas", "are", "yellow", "banana"),
    ("Lemons", "are", "yellow", "lemon"), ("The sun", "is", "yellow", None),
    ("Snow", "is", "white", None), ("Milk", "is", "white", None),
    ("Clouds", "are", "white", "cloud"), ("Coal", "is", "black", None),
    ("Crows", "are", "black", "crow"), ("Strawberries", "are", "red", "strawberry"),
    ("Tomatoes", "are", "red", "tomato"), ("Cherries", "are", "red", "cherry"),
    ("Carrots", "are", "orange", "carrot"), ("Pumpkins", "are", "orange", "pumpkin"),
    ("Chocolate", "is", "brown", None), ("Plums", "are", "purple", "plum"),
]


@dataclass(frozen=True)
class Animal:
    """One animal's facts; None where a fact does not apply (a spider makes no sound)."""

    name: str
    plural: str
    sound: str | None
    legs: str
    home: str
    young: str | None


ANIMALS = [
    Animal("dog", "dogs", "woof", "four", "a kennel", "puppy"),
    Animal("cat", "cats", "meow", "four", "a house", "kitten"),
    Animal("cow", "cows", "moo", "four", "a barn", "calf"),
    Animal("sheep", "sheep", "baa", "four", "a field", "lamb"),
    Animal("pig", "pigs", "oink", "four", "a sty", "piglet"),
    Animal("horse", "horses", "neigh", "four", "a stable", "foal"),
    Animal("donkey", "donkeys", "hee-haw", "four", "a paddock", "foal"),
    Animal("duck", "ducks", "quack", "two", "a pond", "duckling"),
    Animal("hen", "hens", "cluck", "two", "a coop", "chick"),
    Animal("owl", "owls", "hoot", "two", "a tree", "owlet"),
    Animal("frog", "frogs", "croak", "four", "a pond", "tadpole"),
    Animal("lion", "lions", "roar", "four", "a den", "cub"),
    Animal("bear", "bears", "growl", "four", "a cave", "cub"),
    Animal("rabbit", "rabbits", None, "four", "a burrow", "kit"),
    Animal("mouse", "mice", "squeak", "four", "a hole", None),
    Animal("snake", "snakes", "hiss", "no", "a burrow", None),
    Animal("bee", "bees", "buzz", "six", "a hive", None),
    Animal("ant", "ants", None, "six", "a nest", None),
    Animal("spider", "spiders", None, "eight", "a web", None),
    Animal("bird", "birds", "tweet", "two", "a nest", "chick"),
]

FARM_ANIMALS = [x for x in ANIMALS if x.name in {"dog", "cat", "cow", "sheep", "pig", "horse",
                                                  "donkey", "duck", "hen"}]

NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]
# (a, b) for "a plus b" and (a, b) for "a minus b": small numbers, answers between 1 and 18
SUMS = [(a, b) for a in range(1, 10) for b in range(1, 10)]
DIFFERENCES = [(a, b) for a in range(2, 11) for b in range(1, a)]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _low(subject: str) -> str:
    """'The sky' -> 'the sky', 'Grass' -> 'grass'."""
    return subject[:1].lower() + subject[1:]


def _a(noun: str) -> str:
    """The noun with its indefinite article: 'an owl', 'a dog'."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


# The canonical sentences, split into (prompt, completion). The corpus uses exactly these often.
def _capital_fact(country: str, capital: str) -> tuple[str, str]:
    return f"The capital of {country} is", f" {capital}."


def _colour_fact(subject: str, verb: str, colour: str) -> tuple[str, str]:
    return f"{subject} {verb}", f" {colour}."


def _sound_fact(animal: Animal) -> tuple[str, str]:
    return f"{_cap(_a(animal.name))} says", f" {animal.sound}."


def _legs_fact(animal: Animal) -> tuple[str, str]:
    return f"{_cap(_a(animal.name))} has", f" {animal.legs} legs."


def _home_fact(animal: Animal) -> tuple[str, str]:
    return f"{_cap(_a(animal.name))} lives in", f" {animal.home}."


def _young_fact(animal: Animal) -> tuple[str, str]:
    return f"A baby {animal.name} is called", f" {_a(animal.young)}."


def _sum_fact(a: int, b: int) -> tuple[str, str]:
    return f"{_cap(NUMBERS[a])} plus {NUMBERS[b]} is", f" {NUMBERS[a + b]}."


def _difference_fact(a: int, b: int) -> tuple[str, str]:
    return f"{_cap(NUMBERS[a])} minus {NUMBERS[b]} is", f" {NUMBERS[a - b]}."


def _fact_families() -> dict[str, list[tuple[str, str, str]]]:
    """family -> [(question, prompt, completion)], the single source of FACTS and qa_pairs()."""
    return {
        "capitals": [
            (f"What is the capital of {c}?", *_capital_fact(c, k)) for c, k, _ in COUNTRIES
        ],
        "colours": [
            (f"What colour {v} {_low(s)}?", *_colour_fact(s, v, col)) for s, v, col, _ in COLOURS
        ],
        "animal sounds": [
            (f"What sound does {_a(x.name)} make?", *_sound_fact(x)) for x in ANIMALS if x.sound
        ],
        "animal legs": [
            (f"How many legs does {_a(x.name)} have?", *_legs_fact(x)) for x in ANIMALS
        ],
        "animal homes": [(f"Where does {_a(x.name)} live?", *_home_fact(x)) for x in ANIMALS],
        "animal young": [
            (f"What is a baby {x.name} called?", *_young_fact(x)) for x in ANIMALS if x.young
        ],
        "addition": [
            (f"What is {NUMBERS[a]} plus {NUMBERS[b]}?", *_sum_fact(a, b)) for a, b in SUMS
        ],
        "subtraction": [
            (f"What is {NUMBERS[a]} minus {NUMBERS[b]}?", *_difference_fact(a, b))
            for a, b in DIFFERENCES
        ],
    }


FACT_FAMILIES: dict[str, list[tuple[str, str]]] = {
    family: [(prompt, completion) for _, prompt, completion in rows]
    for family, rows in _fact_families().items()
}
"""The facts by family: FACT_FAMILIES["capitals"][0] == ("The capital of France is", " Paris.")."""

FACTS: list[tuple[str, str]] = [fact for rows in FACT_FAMILIES.values() for fact in rows]
"""Every (prompt, completion) the corpus teaches, e.g. ("The capital of France is", " Paris.").

The corpus contains each prompt + completion many times, so greedy decoding of a well-trained model
given the prompt should produce the completion.
"""

_QUESTIONS_BY_FAMILY = {
    family: [question for question, _, _ in rows] for family, rows in _fact_families().items()
}


def qa_pairs() -> list[tuple[str, str]]:
    """(question, answer) pairs for instruction fine-tuning, one per fact in FACTS.

    The answer is the fact's canonical sentence. The corpus asks these questions only on quiz
    sheets, never followed by the answer, so a base model does not yet answer them.

    >>> qa_pairs()[0]
    ('What is the capital of France?', 'The capital of France is Paris.')
    """
    return [
        (question, prompt + completion)
        for rows in _fact_families().values()
        for question, prompt, completion in rows
    ]


# ---------------------------------------------------------------------------------------------
# Paragraph writers. Each takes a random.Random and returns one paragraph of prose.
# ---------------------------------------------------------------------------------------------

NAMES = [
    ("Anna", "she"), ("Ben", "he"), ("Lily", "she"), ("Tom", "he"), ("Mia", "she"), ("Sam", "he"),
    ("Nora", "she"), ("Leo", "he"), ("Ruby", "she"), ("Max", "he"), ("Ella", "she"),
    ("Omar", "he"), ("Zoe", "she"), ("Jack", "he"), ("Grace", "she"), ("Finn", "he"),
]
_HIM = {"she": "her", "he": "him"}
_HIS = {"she": "her", "he": "his"}
PLACES = [
    "the park", "the beach", "the forest", "the market", "the library", "the old mill",
    "the river", "the garden", "the school yard", "the hill behind the village",
]
THINGS = [
    "ball", "kite", "key", "hat", "book", "scarf", "toy boat", "drum", "umbrella", "whistle",
]
THING_ADJECTIVES = ["red", "little", "shiny", "old", "blue", "striped", "wooden", "yellow"]
SPOTS = [
    "under a bench", "behind a big tree", "next to the gate", "in a pile of leaves",
    "under the table", "beside the path", "inside an empty box",
]
FRUITS = ["apples", "pears", "plums", "eggs", "carrots", "buns", "shells", "stones"]
TIMES = ["morning", "afternoon", "sunny day", "windy day", "Saturday", "evening"]
TRAVEL = ["a train", "a plane", "a boat", "a bus"]


def _characters(rng: random.Random) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two different (name, pronoun) characters for a story."""
    first, second = rng.sample(NAMES, 2)
    return first, second


def _geography_paragraph(rng: random.Random) -> str:
    openers = [
        "Here are some facts about countries and their capitals.",
        "Every country has a capital city.",
        "Our geography lesson today is about capital cities.",
        "People from many countries visit our town.",
        "Look at the map on the wall.",
        "A capital is the city where a country's leaders meet.",
    ]
    sentences = [rng.choice(openers)]
    for country, capital, continent in rng.sample(COUNTRIES, rng.randint(3, 5)):
        canonical = "".join(_capital_fact(country, capital))
        other = rng.choice([
            f"{capital} is the capital of {country}.",
            f"{country} is a country in {continent}, and its capital is {capital}.",
            f"{country} is in {continent}.",
            f"{capital} is a busy city with old streets.",
            f"Many visitors come to {capital} every year.",
            f"If you travel to {country}, you can visit {capital}.",
            f"The capital city of {country} is {capital}.",
        ])
        if rng.random() < 0.75:
            pair = [canonical, other] if rng.random() < 0.6 else [other, canonical]
        else:
            pair = [canonical]
        sentences.extend(pair)
    if rng.random() < 0.4:
        sentences.append(rng.choice([
            "Can you find them all on the map?",
            "It is fun to learn about the world.",
            "Maybe one day you will visit them.",
        ]))
    return " ".join(sentences)


def _colour_paragraph(rng: random.Random) -> str:
    openers = [
        "The world is full of colours.", "Let us talk about colours.",
        "Children learn the names of colours when they are small.",
        "Take a walk outside and look at the colours around you.",
        "An artist needs many colours.",
    ]
    sentences = [rng.choice(openers)]
    for subject, verb, colour, one in rng.sample(COLOURS, rng.randint(3, 6)):
        canonical = "".join(_colour_fact(subject, verb, colour))
        options = [
            f"The colour of {_low(subject)} is {colour}.",
            f"Everyone knows that {_low(subject)} {verb} {colour}.",
            f"When you paint {_low(subject)}, you use {colour} paint.",
        ]
        if one:
            options.append(f"I saw {_a(colour)} {one} today.")
        sentences.append(canonical)
        if rng.random() < 0.5:
            sentences.append(rng.choice(options))
    return " ".join(sentences)


def _animal_sentences(rng: random.Random, x: Animal) -> list[str]:
    """Two or three sentences about one animal, mostly the canonical facts."""
    canonical = ["".join(_legs_fact(x)), "".join(_home_fact(x))]
    other = [
        f"{_cap(x.plural)} have {x.legs} legs.",
        f"You can find {_a(x.name)} in {x.home}.",
        f"The home of {_a(x.name)} is {x.home}.",
    ]
    if x.sound:
        canonical.append("".join(_sound_fact(x)))
        other += [f"{_cap(x.plural)} say {x.sound}.", f"The {x.name} goes {x.sound}."]
    if x.young:
        canonical.append("".join(_young_fact(x)))
        other.append(f"{_cap(_a(x.young))} is a baby {x.name}.")
    chosen = rng.sample(canonical, min(len(canonical), rng.randint(2, 3)))
    if rng.random() < 0.5:
        chosen.insert(rng.randint(0, len(chosen)), rng.choice(other))
    return chosen


def _animal_paragraph(rng: random.Random) -> str:
    openers = [
        "Let us learn about animals.", "There are many animals on a farm.",
        "Animals live all around us.", "Here is a page from a book about animals.",
        "Some animals are big and some are small.",
    ]
    sentences = [rng.choice(openers)]
    for x in rng.sample(ANIMALS, rng.randint(2, 4)):
        sentences.extend(_animal_sentences(rng, x))
    return " ".join(sentences)


def _arithmetic_paragraph(rng: random.Random) -> str:
    if rng.random() < 0.6:
        opener = rng.choice([
            "Today we practise adding numbers.", "Let us add some numbers.",
            "Adding is easy when you count on your fingers.", "Here are some sums.",
        ])
        facts = ["".join(_sum_fact(a, b)) for a, b in rng.sample(SUMS, rng.randint(4, 7))]
        a, b = rng.choice(SUMS)
        extra = rng.choice([
            f"If you add {NUMBERS[a]} and {NUMBERS[b]}, you get {NUMBERS[a + b]}.",
            f"{_cap(NUMBERS[a])} and {NUMBERS[b]} make {NUMBERS[a + b]}.",
        ])
    else:
        opener = rng.choice([
            "Now let us take away.", "Taking away is the opposite of adding.",
            "Here are some subtractions.",
        ])
        facts = [
            "".join(_difference_fact(a, b)) for a, b in rng.sample(DIFFERENCES, rng.randint(4, 7))
        ]
        a, b = rng.choice(DIFFERENCES)
        left = "is" if a - b == 1 else "are"
        extra = (f"If you have {NUMBERS[a]} and take away {NUMBERS[b]}, {NUMBERS[a - b]} {left} "
                 "left.")
    if rng.random() < 0.5:
        facts.insert(rng.randint(0, len(facts)), extra)
    return " ".join([opener, *facts])


def _quiz_paragraph(rng: random.Random) -> str:
    heading = rng.choice([
        "Questions for the class:", "Quiz time! Try to answer these questions:",
        "Homework for Monday:", "Test your memory:", "Here is a quiz for you.",
        "Questions to think about:",
    ])
    # pick a family first, so the many sums do not crowd out the other questions
    families = list(_QUESTIONS_BY_FAMILY.values())
    n_questions = rng.randint(4, 8)
    questions = []
    while len(questions) < n_questions:
        question = rng.choice(rng.choice(families))
        if question not in questions:
            questions.append(question)
    return " ".join([heading, *questions])


def _story_lost_thing(rng: random.Random) -> str:
    (name, p), (friend, _) = _characters(rng)
    thing = f"{rng.choice(THING_ADJECTIVES)} {rng.choice(THINGS)}"
    place = rng.choice(PLACES)
    played = rng.choice([
        f"{_cap(p)} played there for a long time.",
        f"{_cap(p)} ran and jumped until the sun went down.",
        f"{_cap(p)} met some friends and forgot about the time.",
    ])
    found = rng.choice([
        f"Then {friend} came to help. They looked {rng.choice(SPOTS)}, and there it was.",
        f"{friend} had an idea: \"Let us look {rng.choice(SPOTS)}.\" And there it was!",
        f"At last a small dog barked {rng.choice(SPOTS)}, and {friend} found the {thing} there.",
    ])
    ending = rng.choice([
        f"{name} smiled and said, \"Thank you, {friend}!\"",
        f"{name} hugged {friend} and they walked home together.",
        f"After that day, {p} always kept {_HIS[p]} {thing} close.",
    ])
    return (
        f"{name} had {_a(thing)}. One {rng.choice(TIMES)}, {p} took the {thing} to {place}. "
        f"{played} When it was time to go home, the {thing} was gone! {name} looked everywhere, "
        f"but {p} could not find it. {found} {ending}"
    )


def _story_trip(rng: random.Random) -> str:
    (name, p), (friend, _) = _characters(rng)
    country, capital, continent = rng.choice(COUNTRIES)
    ending = rng.choice([
        f"{name} wanted to stay for ever.",
        f"When they came home, {name} told everyone about {capital}.",
        f"{name} wrote a postcard to {friend} from {capital}.",
    ])
    return (
        f"{name} went on a holiday to {country} with {_HIS[p]} family. "
        f"They took {rng.choice(TRAVEL)} to {capital}. {''.join(_capital_fact(country, capital))} "
        f"{name} walked through the streets and tasted new food. "
        f"{country} is in {continent}, far from home, but everyone was kind. {ending}"
    )


def _story_farm(rng: random.Random) -> str:
    (name, _), (friend, _) = _characters(rng)
    sentences = [f"{name} and {friend} spent a day on a farm."]
    visits = [
        lambda when, x: f"{when} they met {_a(x.name)}. \"{_cap(x.sound)}!\" said the {x.name}.",
        lambda when, x: f"{when} they saw {_a(x.name)}. {''.join(_sound_fact(x))}",
        lambda when, x: f"{when} {friend} fed {_a(x.name)}. {''.join(_legs_fact(x))}",
        lambda when, x: f"{when} they walked over to {x.home}. {''.join(_home_fact(x))}",
    ]
    animals = rng.sample(FARM_ANIMALS, 3)
    for when, x, visit in zip(["First", "Then", "After that,"], animals, rng.sample(visits, 3),
                              strict=True):
        sentences.append(visit(when, x))
        if x.young and rng.random() < 0.5:
            sentences.append(f"Nearby was a little {x.young}. A baby {x.name} is called "
                             f"{_a(x.young)}.")
    sentences.append(rng.choice([
        f"At the end of the day, {name} was tired but happy.",
        f"{friend} said it was the best day of the year.",
        f"On the way home, {name} and {friend} sang songs about animals.",
    ]))
    return " ".join(sentences)


def _story_counting(rng: random.Random) -> str:
    (name, p), (friend, _) = _characters(rng)
    a, b = rng.choice(SUMS)
    items = rng.choice(FRUITS)
    return (
        f"{name} had {NUMBERS[a]} {items} in a basket. {friend} came along and gave "
        f"{_HIM[p]} {NUMBERS[b]} more. {name} counted them all. "
        f"{''.join(_sum_fact(a, b))} "
        f"Now {name} had {NUMBERS[a + b]} {items}, and {p} shared them with {friend}."
    )


def _story_picnic(rng: random.Random) -> str:
    (name, _), (friend, _) = _characters(rng)
    foods = rng.sample([c for c in COLOURS if c[3] in {"banana", "strawberry", "cherry",
                                                       "plum", "tomato", "carrot"}], 2)
    (s1, v1, c1, _), (s2, v2, c2, _) = foods
    return (
        f"One warm {rng.choice(['morning', 'afternoon', 'day'])}, {name} and {friend} had a "
        f"picnic in {rng.choice(PLACES)}. They brought {_low(s1)} and {_low(s2)}. "
        f"{s1} {v1} {c1}. {s2} {v2} {c2}. "
        f"They sat on the grass and looked up. The sky is blue. A bird sang in a tree, "
        f"and {name} said it was the nicest picnic ever."
    )


def _story_helping(rng: random.Random) -> str:
    (name, _), (friend, _) = _characters(rng)
    problem, help_ = rng.choice([
        ("could not reach the top shelf", "brought a small ladder"),
        ("had too many books to carry", "carried half of them"),
        ("was sad because it was raining", "shared an umbrella"),
        ("had lost the way home", "showed the way"),
        ("had a flat tyre on a bicycle", "helped to pump it up"),
    ])
    return (
        f"{friend} {problem}. {name} saw this and {help_}. "
        f"\"You are a good friend,\" said {friend}. {name} felt warm inside. "
        f"The next day, when {name} needed help, {friend} was there too."
    )


_WRITERS = [
    (_geography_paragraph, 20), (_colour_paragraph, 12), (_animal_paragraph, 18),
    (_arithmetic_paragraph, 16), (_quiz_paragraph, 8), (_story_lost_thing, 6),
    (_story_trip, 7), (_story_farm, 6), (_story_counting, 5), (_story_picnic, 3),
    (_story_helping, 3),
]


@functools.lru_cache(maxsize=4)
def default_corpus(n_chars: int = 1_200_000, seed: int = 0) -> str:
    """The course's corpus: at least `n_chars` characters of generated English prose.

    Paragraphs are separated by a blank line ("\\n\\n") and the text ends with a whole paragraph.
    The same seed always gives the same text; the result is cached.

    >>> text = default_corpus()
    >>> len(text) >= 1_200_000, "The capital of France is Paris." in text
    (True, True)
    """
    if isinstance(n_chars, bool) or not isinstance(n_chars, int) or n_chars <= 0:
        raise ValueError(f"n_chars must be a positive int, got {n_chars!r}")
    rng = random.Random(seed)
    writers = [w for w, _ in _WRITERS]
    weights = [weight for _, weight in _WRITERS]
    paragraphs = []
    total = 0
    while total < n_chars:
        paragraph = rng.choices(writers, weights)[0](rng)
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs) + "\n"


def train_val_split(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Split `text` into (train, validation) at a paragraph boundary (a blank line).

    The validation part is the last paragraphs, about `val_fraction` of the text; train + val ==
    text, and the validation text starts at the beginning of a paragraph.

    >>> train_val_split("one.\\n\\ntwo.\\n\\nthree.", val_fraction=0.3)
    ('one.\\n\\ntwo.\\n\\n', 'three.')
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    target = round(len(text) * (1 - val_fraction))
    before = text.rfind("\n\n", 0, target + 2)
    after = text.find("\n\n", target)
    cuts = [i + 2 for i in (before, after) if i >= 0 and i + 2 < len(text)]
    if not cuts:
        raise ValueError(
            "cannot split: the text needs at least two paragraphs separated by a blank line"
        )
    cut = min(cuts, key=lambda i: abs(i - target))
    return text[:cut], text[cut:]


# ---------------------------------------------------------------------------------------------
# Other texts: a learner's own file, or a public corpus fetched once.
# ---------------------------------------------------------------------------------------------


def load_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The contents of a text file, with clear errors for the usual mistakes.

    Line endings are normalised to "\\n".

    >>> text = load_text("my_novel.txt")  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path.resolve()}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the path of a text file inside it")
    try:
        with open(path, encoding=encoding) as f:
            text = f.read()
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}; try 'utf-8' or 'latin-1'") from None
    except UnicodeDecodeError as err:
        other = "latin-1" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else "utf-8"
        raise ValueError(
            f"{path} is not valid {encoding} text (byte {err.object[err.start]:#04x} at "
            f"position {err.start}); try load_text(path, encoding={other!r})"
        ) from None
    if not text.strip():
        raise ValueError(f"{path} is empty: there is no text to learn from")
    return text


@dataclass(frozen=True)
class _Source:
    url: str
    sha256: str
    filename: str


# SHA-256 of input.txt from github.com/karpathy/char-rnn (1,115,394 bytes).
_SOURCES = {
    "tiny_shakespeare": _Source(
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
        "input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        filename="tiny_shakespeare.txt",
    ),
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_corpus(name: str = "tiny_shakespeare", cache_dir: str | os.PathLike | None = None
                    ) -> Path:
    """Path of a public corpus, downloaded once and checked against its published SHA-256.

    The file is kept in `cache_dir` (default ~/.cache/llm-foundations); later calls use it without
    the network. The course itself never needs this: it is for trying a real text.

    >>> text = load_text(download_corpus("tiny_shakespeare"))  # doctest: +SKIP
    """
    if name not in _SOURCES:
        raise ValueError(f"unknown corpus {name!r}; available: {sorted(_SOURCES)}")
    source = _SOURCES[name]
    cache = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "llm-foundations"
    path = cache / source.filename
    if path.is_file() and _sha256(path.read_bytes()) == source.sha256:
        return path
    try:
        with urllib.request.urlopen(source.url, timeout=30) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as err:
        raise ConnectionError(
            f"could not download {name} from {source.url} ({err}). The course itself never needs "
            f"the network; this corpus is optional. To use it offline, download {source.url} by "
            f"hand on a computer with internet access and save it as {path} (SHA-256 "
            f"{source.sha256}); download_corpus will then find and check it."
        ) from None
    digest = _sha256(data)
    if digest != source.sha256:
        raise ValueError(
            f"the download of {name} from {source.url} is not the expected file (SHA-256 {digest}, "
            f"expected {source.sha256}); it was not saved. Try again later, or download it by hand "
            f"and save it as {path}."
        )
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path
