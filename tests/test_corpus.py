"""The generated corpus, its facts and QA pairs, and the train/validation split."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.corpus import (
    FACT_FAMILIES,
    FACTS,
    default_corpus,
    qa_pairs,
    train_val_split,
)
from course_lib.tokenizers import SPECIAL_TOKENS


@pytest.fixture(scope="module")
def text():
    return default_corpus()


# --- the default corpus ---------------------------------------------------------------------


def test_corpus_is_long_enough_and_ends_with_a_paragraph(text):
    assert len(text) >= 1_000_000
    assert len(text) >= 1_200_000
    assert text.endswith(".\n") or text.endswith("?\n")
    assert text.count("\n\n") > 1000, "the corpus is made of many paragraphs"


def test_corpus_is_deterministic_and_cached(text):
    assert default_corpus() is text
    assert default_corpus.__wrapped__(100_000, seed=0) == default_corpus(100_000, seed=0)


def test_different_seeds_give_different_text():
    assert default_corpus(100_000, seed=1) != default_corpus(100_000, seed=0)


def test_n_chars_must_be_positive():
    with pytest.raises(ValueError, match="positive int"):
        default_corpus(0)


def test_corpus_is_varied_prose(text):
    paragraphs = text.split("\n\n")
    assert len(set(paragraphs)) > 0.9 * len(paragraphs), "paragraphs should rarely repeat"
    sentences = re.findall(r"[^.!?]+[.!?]", text[:200_000])
    assert len(set(sentences)) > 1000
    assert "Questions for the class:" in text, "quiz sheets (questions without answers)"
    assert set(text) <= set("\n !\"',-.:?" + "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_corpus_has_no_special_tokens(text):
    assert not any(special in text for special in SPECIAL_TOKENS)
    assert "<|" not in text


def test_every_fact_occurs_often_in_canonical_form(text):
    for prompt, completion in FACTS:
        count = text.count(prompt + completion)
        assert count >= 15, f"{prompt + completion!r} occurs only {count} times"
        other = text.count(prompt + " ") - count
        assert other <= count / 4, f"{prompt!r} is too often continued differently"


def test_fact_families_cover_the_brief():
    assert set(FACT_FAMILIES) >= {"capitals", "colours", "animal sounds", "animal legs",
                                  "animal homes", "animal young", "addition"}
    assert 25 <= len(FACT_FAMILIES["capitals"]) <= 40
    assert ("The capital of France is", " Paris.") in FACTS
    assert ("The sky is", " blue.") in FACTS
    assert ("Two plus three is", " five.") in FACTS
    assert all(completion.startswith(" ") and completion.endswith(".") for _, completion in FACTS)
    assert len(set(prompt for prompt, _ in FACTS)) == len(FACTS), "one completion per prompt"


def test_qa_pairs_match_facts(text):
    pairs = qa_pairs()
    assert len(pairs) == len(FACTS)
    assert ("What is the capital of France?", "The capital of France is Paris.") in pairs
    assert [answer for _, answer in pairs] == [p + c for p, c in FACTS]
    for question, answer in pairs:
        assert question.endswith("?")
        assert question + " " + answer not in text, "the base corpus never answers a question"
    assert sum(question in text for question, _ in pairs) > 0.9 * len(pairs)


# --- train/validation split -----------------------------------------------------------------


def test_split_of_default_corpus(text):
    train, val = train_val_split(text)
    assert train + val == text
    assert train.endswith("\n\n") and not val.startswith("\n")
    assert abs(len(val) / len(text) - 0.1) < 0.01
    assert train_val_split(text) == (train, val)


paragraph = st.text(st.characters(blacklist_characters="\n"), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(paragraphs=st.lists(paragraph, min_size=2, max_size=20),
       fraction=st.floats(0.05, 0.95))
def test_split_properties(paragraphs, fraction):
    text = "\n\n".join(paragraphs)
    train, val = train_val_split(text, fraction)
    assert train + val == text
    assert train and val
    assert train.endswith("\n\n")
    assert val in {"\n\n".join(paragraphs[k:]) for k in range(1, len(paragraphs))}


def test_split_errors():
    with pytest.raises(ValueError, match="two paragraphs"):
        train_val_split("just one paragraph, no blank line")
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split("a\n\nb", val_fraction=1.5)
    with pytest.raises(TypeError, match="must be a str"):
        train_val_split(b"a\n\nb")
