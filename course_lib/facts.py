"""The facts the course's corpus teaches, and the same facts as questions and answers.

Each family of facts is a plain table (countries and capitals, colours, animals, sums and
differences). From the tables come the canonical sentences, split into (prompt, completion):
`FACT_FAMILIES` by family, `FACTS` all together, and `qa_pairs()` the questions that ask for
them. `course_lib.corpus` writes its prose from the same tables, mostly in those canonical
sentences, so even a tiny model trained for a few minutes learns to complete them.

>>> FACTS[0]
('The capital of France is', ' Paris.')
"""

from __future__ import annotations

from dataclasses import dataclass

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


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(subject: str) -> str:
    """'The sky' -> 'the sky', 'Grass' -> 'grass'."""
    return subject[:1].lower() + subject[1:]


def a_noun(noun: str) -> str:
    """The noun with its indefinite article: 'an owl', 'a dog'."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


# The canonical sentences, split into (prompt, completion). The corpus uses exactly these often.
def capital_fact(country: str, capital: str) -> tuple[str, str]:
    return f"The capital of {country} is", f" {capital}."


def colour_fact(subject: str, verb: str, colour: str) -> tuple[str, str]:
    return f"{subject} {verb}", f" {colour}."


def sound_fact(animal: Animal) -> tuple[str, str]:
    return f"{capitalised(a_noun(animal.name))} says", f" {animal.sound}."


def legs_fact(animal: Animal) -> tuple[str, str]:
    return f"{capitalised(a_noun(animal.name))} has", f" {animal.legs} legs."


def home_fact(animal: Animal) -> tuple[str, str]:
    return f"{capitalised(a_noun(animal.name))} lives in", f" {animal.home}."


def young_fact(animal: Animal) -> tuple[str, str]:
    return f"A baby {animal.name} is called", f" {a_noun(animal.young)}."


def sum_fact(a: int, b: int) -> tuple[str, str]:
    return f"{capitalised(NUMBERS[a])} plus {NUMBERS[b]} is", f" {NUMBERS[a + b]}."


def difference_fact(a: int, b: int) -> tuple[str, str]:
    return f"{capitalised(NUMBERS[a])} minus {NUMBERS[b]} is", f" {NUMBERS[a - b]}."


def _fact_families() -> dict[str, list[tuple[str, str, str]]]:
    """family -> [(question, prompt, completion)], the single source of FACTS and qa_pairs()."""
    return {
        "capitals": [
            (f"What is the capital of {c}?", *capital_fact(c, k)) for c, k, _ in COUNTRIES
        ],
        "colours": [
            (f"What colour {v} {lower_first(s)}?", *colour_fact(s, v, col))
            for s, v, col, _ in COLOURS
        ],
        "animal sounds": [
            (f"What sound does {a_noun(x.name)} make?", *sound_fact(x)) for x in ANIMALS if x.sound
        ],
        "animal legs": [
            (f"How many legs does {a_noun(x.name)} have?", *legs_fact(x)) for x in ANIMALS
        ],
        "animal homes": [(f"Where does {a_noun(x.name)} live?", *home_fact(x)) for x in ANIMALS],
        "animal young": [
            (f"What is a baby {x.name} called?", *young_fact(x)) for x in ANIMALS if x.young
        ],
        "addition": [
            (f"What is {NUMBERS[a]} plus {NUMBERS[b]}?", *sum_fact(a, b)) for a, b in SUMS
        ],
        "subtraction": [
            (f"What is {NUMBERS[a]} minus {NUMBERS[b]}?", *difference_fact(a, b))
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

QUESTIONS_BY_FAMILY = {
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
