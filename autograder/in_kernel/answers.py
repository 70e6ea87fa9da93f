"""Answers read as a careful human grader reads them (runs in the kernel, before the checks).

>>> as_choice(" b ")
'B'
>>> as_choice(True)
'True'
>>> as_choice("false")
'False'
"""

from __future__ import annotations


def as_choice(value):
    """A multiple-choice answer as the question's options spell it: a letter in capitals, a
    true/false answer as "True" or "False"; anything else is returned unchanged."""
    if type(value) is bool:
        return str(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.capitalize()
    return text.upper() if len(text) == 1 and text.isalpha() else text
