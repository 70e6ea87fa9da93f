"""Tokenizers: exact round trips on any text, special tokens, compression, save/load, errors."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.corpus import default_corpus
from course_lib.tokenizers import (
    SPECIAL_TOKENS,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    load_tokenizer,
)

# Arbitrary text with special-token strings mixed in.
texts_with_specials = st.lists(st.one_of(st.text(), st.sampled_from(SPECIAL_TOKENS))).map("".join)
EXAMPLES = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def corpus():
    return default_corpus()


@pytest.fixture(scope="module")
def bpe(corpus):
    return BPETokenizer.train(corpus, vocab_size=512)


@pytest.fixture(scope="module")
def char(corpus):
    return CharTokenizer.train(corpus)


@pytest.fixture(scope="module", params=["char", "bpe"])
def tokenizer(request, char, bpe):
    return {"char": char, "bpe": bpe}[request.param]


@pytest.fixture(scope="module")
def reloaded(tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(path)
    return load_tokenizer(path)


# --- round trips and ids --------------------------------------------------------------------


@EXAMPLES
@given(text=st.text())
def test_round_trip_any_unicode(tokenizer, text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


@EXAMPLES
@given(text=texts_with_specials, allowed=st.sets(st.sampled_from(SPECIAL_TOKENS)))
def test_round_trip_with_special_tokens(tokenizer, text, allowed):
    for allowed_special in (allowed, "all", ()):
        ids = tokenizer.encode(text, allowed_special=allowed_special)
        assert tokenizer.decode(ids) == text
        assert all(0 <= i < tokenizer.vocab_size for i in ids)
        assert all(isinstance(i, int) for i in ids)


@EXAMPLES
@given(text=texts_with_specials, allowed=st.sets(st.sampled_from(SPECIAL_TOKENS)))
def test_ordinary_text_never_yields_a_special_id_unless_allowed(tokenizer, text, allowed):
    special_ids = set(range(len(SPECIAL_TOKENS)))
    assert not set(tokenizer.encode(text)) & special_ids
    ids = tokenizer.encode(text, allowed_special=allowed)
    allowed_ids = {SPECIAL_TOKENS.index(s) for s in allowed}
    assert sum(i in special_ids for i in ids) == sum(i in allowed_ids for i in ids)
    assert sum(i in allowed_ids for i in ids) == _count_specials(text, allowed)


def _count_specials(text: str, allowed) -> int:
    """How many allowed special-token strings `text` holds, read left to right."""
    count, i = 0, 0
    while i < len(text):
        match = next((s for s in SPECIAL_TOKENS if s in allowed and text.startswith(s, i)), None)
        count, i = (count + 1, i + len(match)) if match else (count, i + 1)
    return count


@pytest.mark.parametrize("i, special", list(enumerate(SPECIAL_TOKENS)))
def test_special_tokens_have_ids_0_to_4(tokenizer, i, special):
    assert tokenizer.encode(special, allowed_special={special}) == [i]
    assert tokenizer.decode([i]) == special
    ids = tokenizer.encode(f"ab{special}cd", allowed_special="all")
    assert ids.count(i) == 1, "an allowed special token string in the text must become its one id"
    assert i not in tokenizer.encode(f"ab{special}cd"), "unless allowed, it is ordinary text"
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2)
    assert (tokenizer.instruction_id, tokenizer.response_id) == (3, 4)


def test_round_trip_on_corpus(tokenizer, corpus):
    sample = corpus[:50_000]
    assert tokenizer.decode(np.array(tokenizer.encode(sample))) == sample


def test_char_tokenizer_vocabulary():
    tok = CharTokenizer.train("hello")
    assert tok.chars == ["e", "h", "l", "o"]
    assert tok.vocab_size == len(SPECIAL_TOKENS) + 4 + 256
    assert tok.encode("hole") == [6, 8, 7, 5]
    assert len(tok.encode("é")) == 2, "an unseen character falls back to its UTF-8 bytes"


def test_token_strings_are_readable(bpe):
    text = "The capital of France is Paris."
    assert "".join(bpe.token_strings(bpe.encode(text))) == text
    assert " capital" in bpe.token_strings(bpe.encode(text)), "a frequent word is one token"
    pieces = CharTokenizer.train("ab").token_strings(CharTokenizer.train("ab").encode("€"))
    assert pieces == ["\\xe2", "\\x82", "\\xac"], "lone bytes are shown as escapes"


def test_decode_of_partial_character_is_replacement_char():
    tok = CharTokenizer.train("ab")
    first_byte = tok.encode("€")[0]
    assert tok.decode([first_byte]) == "\ufffd"


# --- BPE training ---------------------------------------------------------------------------


def test_bpe_compresses_the_corpus(bpe, corpus):
    sample = corpus[:100_000]
    n_tokens = len(bpe.encode(sample))
    assert bpe.vocab_size == 512
    assert n_tokens < 0.5 * len(sample.encode("utf-8")), "merges should at least halve the length"


def test_bpe_learns_frequent_words_first():
    tok = BPETokenizer.train("low lower lowest " * 50, vocab_size=264)
    assert tok.vocab_size == 264
    assert tok.token_strings(tok.encode(" lowest")) == [" low", "e", "s", "t"]


def test_bpe_training_is_deterministic(corpus):
    sample = corpus[:30_000]
    assert BPETokenizer.train(sample, 300).merges == BPETokenizer.train(sample, 300).merges


def test_bpe_stops_when_no_pair_repeats():
    tok = BPETokenizer.train("abcd", vocab_size=1000)
    assert tok.vocab_size == len(SPECIAL_TOKENS) + 256
    assert tok.decode(tok.encode("abcd")) == "abcd"


def test_bpe_never_learns_special_tokens():
    tok = BPETokenizer.train("<|eos|>" * 200, vocab_size=300)
    assert tok.encode("<|eos|>", allowed_special="all") == [2]
    assert tok.vocab_size == len(SPECIAL_TOKENS) + 256


# --- save and load --------------------------------------------------------------------------


@EXAMPLES
@given(text=texts_with_specials)
def test_save_load_gives_identical_encodings(tokenizer, reloaded, text):
    assert type(reloaded) is type(tokenizer)
    assert reloaded.vocab_size == tokenizer.vocab_size
    assert reloaded.encode(text) == tokenizer.encode(text)


def test_json_has_type_field(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert data["type"] == type(tokenizer).__name__
    assert type(tokenizer).load(tmp_path / "t.json").encode("Hi!") == tokenizer.encode("Hi!")


def test_loading_with_the_wrong_class_is_refused(char, tmp_path):
    char.save(tmp_path / "char.json")
    with pytest.raises(ValueError, match="holds a CharTokenizer, not a BPETokenizer"):
        BPETokenizer.load(tmp_path / "char.json")
    assert isinstance(Tokenizer.load(tmp_path / "char.json"), CharTokenizer)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a valid tokenizer JSON"),
        ('["a list"]', "not a tokenizer file"),
        ('{"type": "WordTokenizer"}', "not a tokenizer file"),
        ('{"type": "BPETokenizer", "special_tokens": ["<|pad|>"], "merges": []}',
         "special tokens"),
        ('{"type": "BPETokenizer", "special_tokens": %s}', "corrupt BPETokenizer"),
        ('{"type": "BPETokenizer", "special_tokens": %s, "merges": [[5, 999]]}',
         "corrupt BPETokenizer"),
        ('{"type": "BPETokenizer", "special_tokens": %s, "merges": [[5, "a"]]}',
         "corrupt BPETokenizer"),
        ('{"type": "CharTokenizer", "special_tokens": %s, "chars": ["ab"]}',
         "corrupt CharTokenizer"),
        ('{"type": "CharTokenizer", "special_tokens": %s, "chars": ["a", "a"]}',
         "corrupt CharTokenizer"),
    ],
)
def test_corrupt_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if "%s" in content:
        content = content % json.dumps(list(SPECIAL_TOKENS))
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_tokenizer(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no tokenizer file"):
        load_tokenizer(tmp_path / "nothing.json")


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"bytes", None, 42, ["a", "list"]])
def test_encode_rejects_non_strings(tokenizer, bad):
    with pytest.raises(TypeError, match="the text to encode must be a str"):
        tokenizer.encode(bad)


def test_user_text_with_a_special_string_is_ordinary_text(tokenizer):
    typed = "a user types <|eos|> here"
    assert tokenizer.eos_id not in tokenizer.encode(typed)
    assert tokenizer.encode(typed, allowed_special="all").count(tokenizer.eos_id) == 1
    assert tokenizer.eos_id not in tokenizer.encode(typed, allowed_special={"<|response|>"})


@pytest.mark.parametrize("bad, error, message", [
    ("<|eos|>", TypeError, 'must be "all" or a collection'),
    (42, TypeError, 'must be "all" or a collection'),
    ({"<|end|>"}, ValueError, "not special tokens"),
])  # fmt: skip
def test_encode_rejects_a_bad_allowed_special(tokenizer, bad, error, message):
    with pytest.raises(error, match=message):
        tokenizer.encode("hi", allowed_special=bad)


def test_encode_rejects_lone_surrogates(tokenizer):
    with pytest.raises(ValueError, match="surrogate"):
        tokenizer.encode("a\ud800b")


@pytest.mark.parametrize("bad", [[-1], [10_000], np.array([1, 2, 99_999])])
def test_decode_rejects_ids_out_of_range(tokenizer, bad):
    with pytest.raises(ValueError, match="out of range"):
        tokenizer.decode(bad)


@pytest.mark.parametrize("bad", [[1.0, 2.0], ["a"], np.array([0.5]), [True, False], "abc"])
def test_decode_rejects_non_integers(tokenizer, bad):
    with pytest.raises(TypeError):
        tokenizer.decode(bad)


def test_decode_rejects_2d_and_accepts_empty(tokenizer):
    with pytest.raises(ValueError, match="1-D"):
        tokenizer.decode(np.zeros((2, 3), dtype=int))
    assert tokenizer.decode([]) == ""
    assert tokenizer.decode(np.array([], dtype=np.int64)) == ""
    assert tokenizer.decode(np.array([5, 6], dtype=np.int32)) == tokenizer.decode([5, 6])


def test_train_errors():
    with pytest.raises(ValueError, match="too small"):
        BPETokenizer.train("some text", vocab_size=100)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer.train("some text", vocab_size=300.0)
    with pytest.raises(TypeError, match="the training text must be a str"):
        BPETokenizer.train(["some text"], vocab_size=300)
    with pytest.raises(TypeError, match="the training text must be a str"):
        CharTokenizer.train(None)


def test_base_class_is_shared():
    assert issubclass(CharTokenizer, Tokenizer) and issubclass(BPETokenizer, Tokenizer)
    assert repr(BPETokenizer([])) == "BPETokenizer(vocab_size=261)"
