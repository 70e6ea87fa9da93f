"""The generated corpus, its facts and QA pairs, the split, and the readers (never the network)."""

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import corpus as corpus_module
from course_lib.corpus import (
    FACT_FAMILIES,
    FACTS,
    default_corpus,
    download_corpus,
    load_text,
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


# --- load_text ------------------------------------------------------------------------------


def test_load_text_reads_and_normalises_newlines(tmp_path):
    path = tmp_path / "story.txt"
    path.write_bytes("Once upon a time.\r\n\r\nThé end.\r\n".encode())
    assert load_text(path) == "Once upon a time.\n\nThé end.\n"
    assert load_text(str(path)) == load_text(path)


def test_load_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_text(tmp_path)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Café au lait".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not valid utf-8 text.*encoding='latin-1'"):
        load_text(latin)
    assert load_text(latin, encoding="latin-1") == "Café au lait"
    with pytest.raises(ValueError, match="unknown encoding"):
        load_text(latin, encoding="no-such-encoding")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        load_text(empty)
    with pytest.raises(TypeError, match="str or Path"):
        load_text(42)


# --- download_corpus (served from a file:// URL; the network is never used) ------------------


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """Point the "tiny_shakespeare" entry at a local file and return that file."""
    served = tmp_path / "served.txt"
    served.write_bytes(b"First Citizen:\nBefore we proceed any further, hear me speak.\n")
    source = corpus_module._Source(
        url=served.as_uri(),
        sha256=hashlib.sha256(served.read_bytes()).hexdigest(),
        filename="tiny_shakespeare.txt",
    )
    monkeypatch.setitem(corpus_module._SOURCES, "tiny_shakespeare", source)
    return served


def test_download_verifies_and_caches(fake_source, tmp_path):
    cache = tmp_path / "cache"
    path = download_corpus("tiny_shakespeare", cache_dir=cache)
    assert path == cache / "tiny_shakespeare.txt"
    assert path.read_bytes() == fake_source.read_bytes()
    fake_source.unlink()  # the second call must not need the source any more
    assert download_corpus(cache_dir=cache) == path


def test_download_default_cache_dir(fake_source, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = download_corpus()
    assert path == tmp_path / "home" / ".cache" / "llm-foundations" / "tiny_shakespeare.txt"


def test_download_checksum_mismatch_is_not_cached(fake_source, tmp_path):
    fake_source.write_bytes(b"a different file")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="not the expected file.*not saved"):
        download_corpus(cache_dir=cache)
    assert not (cache / "tiny_shakespeare.txt").exists()


def test_corrupt_cached_file_is_downloaded_again(fake_source, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny_shakespeare.txt").write_bytes(b"truncated")
    path = download_corpus(cache_dir=cache)
    assert path.read_bytes() == fake_source.read_bytes()


def test_offline_message_says_what_to_do(fake_source, tmp_path):
    fake_source.unlink()  # like being offline: the URL cannot be fetched
    cache = tmp_path / "cache"
    with pytest.raises(ConnectionError) as info:
        download_corpus(cache_dir=cache)
    message = str(info.value)
    assert "never needs the network" in message
    assert str(cache / "tiny_shakespeare.txt") in message
    assert "by hand" in message


def test_unknown_corpus_name():
    with pytest.raises(ValueError, match="unknown corpus 'wikipedia'"):
        download_corpus("wikipedia")


def test_real_source_has_published_checksum():
    source = corpus_module._SOURCES["tiny_shakespeare"]
    assert source.url.startswith("https://raw.githubusercontent.com/karpathy/char-rnn/")
    assert re.fullmatch(r"[0-9a-f]{64}", source.sha256)
