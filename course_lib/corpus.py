"""The course's corpus: about a million characters of simple English prose, written from templates.

`default_corpus()` writes short lessons on countries and their capitals, the colours of things,
animals, adding and taking away, little stories, and quiz sheets (questions with no answers).
Their facts come from `course_lib.facts`, repeated many times, mostly in one canonical sentence
("The capital of France is Paris."). `train_val_split` cuts the text into a training and a
validation part at a paragraph boundary. Everything here runs offline.

>>> default_corpus()[:35]                                        # doctest: +SKIP
'Here are some facts about countries'
"""

from __future__ import annotations

import functools
import random

from .checks import check_int, check_type
from .facts import (  # noqa: F401  (FACT_FAMILIES, FACTS and qa_pairs are read from here too)
    ANIMALS,
    COLOURS,
    COUNTRIES,
    DIFFERENCES,
    FACT_FAMILIES,
    FACTS,
    FARM_ANIMALS,
    NUMBERS,
    QUESTIONS_BY_FAMILY,
    SUMS,
    Animal,
    a_noun,
    capital_fact,
    capitalised,
    colour_fact,
    difference_fact,
    home_fact,
    legs_fact,
    lower_first,
    qa_pairs,
    sound_fact,
    sum_fact,
    young_fact,
)

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
        canonical = "".join(capital_fact(country, capital))
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
        canonical = "".join(colour_fact(subject, verb, colour))
        options = [
            f"The colour of {lower_first(subject)} is {colour}.",
            f"Everyone knows that {lower_first(subject)} {verb} {colour}.",
            f"When you paint {lower_first(subject)}, you use {colour} paint.",
        ]
        if one:
            options.append(f"I saw {a_noun(colour)} {one} today.")
        sentences.append(canonical)
        if rng.random() < 0.5:
            sentences.append(rng.choice(options))
    return " ".join(sentences)


def _animal_sentences(rng: random.Random, x: Animal) -> list[str]:
    """Two or three sentences about one animal, mostly the canonical facts."""
    canonical = ["".join(legs_fact(x)), "".join(home_fact(x))]
    other = [
        f"{capitalised(x.plural)} have {x.legs} legs.",
        f"You can find {a_noun(x.name)} in {x.home}.",
        f"The home of {a_noun(x.name)} is {x.home}.",
    ]
    if x.sound:
        canonical.append("".join(sound_fact(x)))
        other += [f"{capitalised(x.plural)} say {x.sound}.", f"The {x.name} goes {x.sound}."]
    if x.young:
        canonical.append("".join(young_fact(x)))
        other.append(f"{capitalised(a_noun(x.young))} is a baby {x.name}.")
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
        facts = ["".join(sum_fact(a, b)) for a, b in rng.sample(SUMS, rng.randint(4, 7))]
        a, b = rng.choice(SUMS)
        extra = rng.choice([
            f"If you add {NUMBERS[a]} and {NUMBERS[b]}, you get {NUMBERS[a + b]}.",
            f"{capitalised(NUMBERS[a])} and {NUMBERS[b]} make {NUMBERS[a + b]}.",
        ])
    else:
        opener = rng.choice([
            "Now let us take away.", "Taking away is the opposite of adding.",
            "Here are some subtractions.",
        ])
        facts = [
            "".join(difference_fact(a, b)) for a, b in rng.sample(DIFFERENCES, rng.randint(4, 7))
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
    families = list(QUESTIONS_BY_FAMILY.values())
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
        f"{capitalised(p)} played there for a long time.",
        f"{capitalised(p)} ran and jumped until the sun went down.",
        f"{capitalised(p)} met some friends and forgot about the time.",
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
        f"{name} had {a_noun(thing)}. One {rng.choice(TIMES)}, {p} took the {thing} to {place}. "
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
        f"They took {rng.choice(TRAVEL)} to {capital}. {''.join(capital_fact(country, capital))} "
        f"{name} walked through the streets and tasted new food. "
        f"{country} is in {continent}, far from home, but everyone was kind. {ending}"
    )


def _story_farm(rng: random.Random) -> str:
    (name, _), (friend, _) = _characters(rng)
    sentences = [f"{name} and {friend} spent a day on a farm."]
    visits = [
        lambda when, x: (f"{when} they met {a_noun(x.name)}. \"{capitalised(x.sound)}!\" said "
                         f"the {x.name}."),
        lambda when, x: f"{when} they saw {a_noun(x.name)}. {''.join(sound_fact(x))}",
        lambda when, x: f"{when} {friend} fed {a_noun(x.name)}. {''.join(legs_fact(x))}",
        lambda when, x: f"{when} they walked over to {x.home}. {''.join(home_fact(x))}",
    ]
    animals = rng.sample(FARM_ANIMALS, 3)
    for when, x, visit in zip(["First", "Then", "After that,"], animals, rng.sample(visits, 3),
                              strict=True):
        sentences.append(visit(when, x))
        if x.young and rng.random() < 0.5:
            sentences.append(f"Nearby was a little {x.young}. A baby {x.name} is called "
                             f"{a_noun(x.young)}.")
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
        f"{''.join(sum_fact(a, b))} "
        f"Now {name} had {NUMBERS[a + b]} {items}, and {p} shared them with {friend}."
    )


def _story_picnic(rng: random.Random) -> str:
    (name, _), (friend, _) = _characters(rng)
    foods = rng.sample([c for c in COLOURS if c[3] in {"banana", "strawberry", "cherry",
                                                       "plum", "tomato", "carrot"}], 2)
    (s1, v1, c1, _), (s2, v2, c2, _) = foods
    return (
        f"One warm {rng.choice(['morning', 'afternoon', 'day'])}, {name} and {friend} had a "
        f"picnic in {rng.choice(PLACES)}. They brought {lower_first(s1)} and {lower_first(s2)}. "
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
    check_int(n_chars, "n_chars")
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
    check_type(text, str, "text")
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
