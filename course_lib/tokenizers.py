"""Tokenizers: turning text into a list of integer ids and back.

A language model never sees text, only ids. A tokenizer fixes the vocabulary (which pieces of text
get an id) and the two maps between the worlds:

    encode("Hi!")  ->  [ids]        decode([ids])  ->  "Hi!"

Every tokenizer here stores its vocabulary as one byte string per id, so decoding is always the
same three steps: look up each id's bytes, join them, read the bytes as UTF-8. The two tokenizers
differ only in how they choose the pieces and how they cut a text into them:

* `CharTokenizer`: one id per character seen in the training text, plus the 256 single bytes as a
  fall-back, so a character it never saw is spelled out as its UTF-8 bytes.
* `BPETokenizer`: byte-level byte-pair encoding. It starts from the 256 bytes and repeatedly merges
  the most frequent adjacent pair into a new token, so common words become single tokens.

Both reserve the ids 0..4 for the special tokens in `SPECIAL_TOKENS`. Ordinary text can never
produce them: `encode` reads a string such as "<|eos|>" in its text as ordinary characters, unless
the caller names it in `allowed_special` (the convention of OpenAI's tiktoken). Code that builds a
template, such as a fine-tuning example, says so: `encode(template, allowed_special="all")`, or puts
the ids in itself (`tokenizer.eos_id`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .checks import check_int, check_sequence, check_type

SPECIAL_TOKENS = ("<|pad|>", "<|bos|>", "<|eos|>", "<|instruction|>", "<|response|>")
_SPECIAL_PATTERN = re.compile("(" + "|".join(re.escape(s) for s in SPECIAL_TOKENS) + ")")
_SPECIAL_IDS = {s: i for i, s in enumerate(SPECIAL_TOKENS)}
_N_SPECIAL = len(SPECIAL_TOKENS)

# Word-like chunks for BPE: letters with their leading space, digits, punctuation, whitespace.
# BPE merges never cross a chunk boundary, so " cat" can become a token but "t." cannot.
_CHUNK_PATTERN = re.compile(r" ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def _utf8(text: str) -> bytes:
    """`text` as UTF-8 bytes, with a clear error for strings that are not valid Unicode text."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"cannot encode {text[err.start:err.end]!r} at position {err.start}: lone surrogate "
            "characters are not valid Unicode text"
        ) from None


def _special_pattern(allowed_special: Collection[str] | str) -> re.Pattern | None:
    """A regular expression that splits out the allowed special tokens (None if none is allowed)."""
    if allowed_special == "all":
        allowed = SPECIAL_TOKENS
    else:
        if isinstance(allowed_special, str) or not isinstance(allowed_special, Collection):
            raise TypeError(
                f'allowed_special must be "all" or a collection of special tokens, such as '
                f'{{"<|eos|>"}}; got {allowed_special!r}'
            )
        unknown = [s for s in allowed_special if s not in _SPECIAL_IDS]
        if unknown:
            raise ValueError(
                f"allowed_special names {unknown!r}, which are not special tokens; "
                f"the special tokens are {list(SPECIAL_TOKENS)}"
            )
        allowed = [s for s in SPECIAL_TOKENS if s in allowed_special]
    if not allowed:
        return None
    return re.compile("(" + "|".join(re.escape(s) for s in allowed) + ")")


class Tokenizer:
    """Shared base: a vocabulary of byte pieces, the special tokens, decode, display, save/load.

    `pieces[i]` is the byte string of token id i. Subclasses define how ordinary text (text without
    special tokens) is cut into ids, in `_encode_ordinary`.
    """

    pad_id, bos_id, eos_id, instruction_id, response_id = range(_N_SPECIAL)

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces

    @property
    def vocab_size(self) -> int:
        """Number of ids: the valid ids are 0 .. vocab_size - 1."""
        return len(self.pieces)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"

    def encode(self, text: str, allowed_special: Collection[str] | str = ()) -> list[int]:
        """Token ids of `text`.

        A special-token string in `text` ("<|eos|>") is ordinary text, encoded like any other
        characters, unless it is in `allowed_special` (a collection of strings of SPECIAL_TOKENS,
        or "all"): then it becomes its id (0..4). So text that a user typed can never end a
        sequence or pose as a template marker.

        >>> tok = CharTokenizer.train("abc")
        >>> tok.encode("cab<|eos|>", allowed_special="all")
        [7, 5, 6, 2]
        >>> tok.decode(tok.encode("cab<|eos|>")) == "cab<|eos|>" and 2 not in tok.encode("<|eos|>")
        True
        """
        check_type(text, str, "the text to encode")
        pattern = _special_pattern(allowed_special)
        if pattern is None:
            return self._encode_ordinary(text)
        ids: list[int] = []
        # With a capturing group, re.split alternates: ordinary text, special, ordinary text, ...
        for k, part in enumerate(pattern.split(text)):
            if k % 2 == 1:
                ids.append(_SPECIAL_IDS[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        """Ids of text that holds no special-token strings (each subclass defines this)."""
        raise NotImplementedError

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text of a sequence of ids (list or 1-D integer array).

        Bytes that do not form valid UTF-8 (possible when a model samples a lone byte token) are
        shown as the replacement character "\ufffd".

        >>> tok = CharTokenizer.train("abc")
        >>> tok.decode([7, 5, 6, 2])
        'cab<|eos|>'
        """
        ids = check_sequence(ids, self.vocab_size, "token ids", allow_empty=True)
        return b"".join(self.pieces[i] for i in ids.tolist()).decode("utf-8", "replace")

    def token_strings(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """One readable string per token, to show how a text was cut.

        A piece that is not valid UTF-8 on its own (part of a multi-byte character) is shown with
        backslash escapes.

        >>> tok = CharTokenizer.train("ab")
        >>> tok.token_strings(tok.encode("ab€"))
        ['a', 'b', '\\\\xe2', '\\\\x82', '\\\\xac']
        """
        ids = check_sequence(ids, self.vocab_size, "token ids", allow_empty=True)
        return [self.pieces[i].decode("utf-8", "backslashreplace") for i in ids.tolist()]

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to a JSON file (with a "type" field naming the class)."""
        data = {"type": type(self).__name__, "special_tokens": list(SPECIAL_TOKENS)}
        data.update(self._to_json())
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    def _to_json(self) -> dict:
        """The fields that describe this tokenizer's vocabulary (each subclass defines this)."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a tokenizer written by `save`; the file must hold this class of tokenizer.

        `Tokenizer.load(path)` accepts any kind, like `load_tokenizer(path)`.

        >>> tok = CharTokenizer.load("char.json")  # doctest: +SKIP
        """
        data = _read_tokenizer_json(path)
        if cls is not Tokenizer and data["type"] != cls.__name__:
            raise ValueError(
                f"{path} holds a {data['type']}, not a {cls.__name__}; "
                "use load_tokenizer(path) to load any kind of tokenizer"
            )
        return _from_json(data, path)


class CharTokenizer(Tokenizer):
    """One token per character of the training text, plus 256 byte tokens as a fall-back.

    Ids: 0..4 special tokens, then the training text's characters in sorted order, then the 256
    bytes. A character outside the vocabulary is encoded as its UTF-8 bytes, so
    decode(encode(s)) == s for every string.

    >>> tok = CharTokenizer.train("hello")
    >>> tok.encode("hole")
    [6, 8, 7, 5]
    >>> tok.decode(tok.encode("hé"))      # "é" was never seen: two byte tokens
    'hé'
    """

    def __init__(self, chars: Sequence[str]):
        chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("CharTokenizer needs a list of single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer's characters must be distinct")
        specials = [s.encode("utf-8") for s in SPECIAL_TOKENS]
        super().__init__(specials + [_utf8(c) for c in chars] + [bytes([b]) for b in range(256)])
        self.chars = chars
        self._char_ids = {c: _N_SPECIAL + i for i, c in enumerate(chars)}
        self._byte_offset = _N_SPECIAL + len(chars)

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        """A tokenizer whose vocabulary is the distinct characters of `text`."""
        check_type(text, str, "the training text")
        ordinary = _SPECIAL_PATTERN.sub("", text)
        _utf8(ordinary)
        return cls(sorted(set(ordinary)))

    def _encode_ordinary(self, text: str) -> list[int]:
        ids = []
        for c in text:
            i = self._char_ids.get(c)
            if i is not None:
                ids.append(i)
            else:
                ids.extend(self._byte_offset + b for b in _utf8(c))
        return ids

    def _to_json(self) -> dict:
        return {"chars": self.chars}


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding.

    Ids: 0..4 special tokens, 5..260 the single bytes 0..255, then one id per learnt merge, in the
    order they were learnt: `merges[k] = (a, b)` means token 261 + k is token a then token b.

    >>> tok = BPETokenizer.train("low lower lowest " * 50, vocab_size=264)
    >>> tok.token_strings(tok.encode(" lowest"))
    [' low', 'e', 's', 't']
    """

    def __init__(self, merges: Sequence[tuple[int, int]]):
        pieces = [s.encode("utf-8") for s in SPECIAL_TOKENS] + [bytes([b]) for b in range(256)]
        for k, pair in enumerate(merges):
            a, b = pair
            if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in pair):
                raise TypeError(f"merge {k} = {pair!r} must be a pair of integer ids")
            if not (_N_SPECIAL <= a < len(pieces) and _N_SPECIAL <= b < len(pieces)):
                raise ValueError(
                    f"merge {k} = {tuple(pair)} refers to a token that does not exist yet "
                    f"(valid ids {_N_SPECIAL}..{len(pieces) - 1})"
                )
            pieces.append(pieces[a] + pieces[b])
        super().__init__(pieces)
        self.merges = [(int(a), int(b)) for a, b in merges]
        # rank of a pair = the id it merges into; lower ids were learnt first and are applied first
        self._ranks = {pair: _N_SPECIAL + 256 + k for k, pair in enumerate(self.merges)}
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges on `text` until the vocabulary has `vocab_size` tokens.

        Training stops early (with a smaller vocabulary) if no pair occurs twice any more.
        Merges are counted over the distinct chunks of the text (a chunk's count is how often it
        occurs), which is what makes training on a million characters take seconds.
        """
        check_type(text, str, "the training text")
        min_size = _N_SPECIAL + 256
        vocab_size = check_int(vocab_size, "vocab_size", minimum=None)
        if vocab_size < min_size:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: a byte-level BPE tokenizer needs at least "
                f"{min_size} ids ({_N_SPECIAL} special tokens + 256 bytes) before any merge"
            )
        chunk_counts = Counter(text_chunks(text))
        words = [[_N_SPECIAL + b for b in _utf8(chunk)] for chunk in chunk_counts]
        counts = list(chunk_counts.values())

        # pair -> total count, and pair -> the words that contain it (updated after every merge)
        pair_counts: Counter = Counter()
        where: dict[tuple[int, int], set[int]] = {}
        for w, (word, count) in enumerate(zip(words, counts, strict=True)):
            for pair in _pairs(word):
                pair_counts[pair] += count
                where.setdefault(pair, set()).add(w)

        merges = []
        for new_id in range(min_size, vocab_size):
            if not pair_counts:
                break
            # most frequent pair; ties go to the smaller ids, so training is deterministic
            best = max(pair_counts, key=lambda p: (pair_counts[p], -p[0], -p[1]))
            if pair_counts[best] < 2:
                break
            merges.append(best)
            for w in where.pop(best):
                word, count = words[w], counts[w]
                for pair in _pairs(word):
                    pair_counts[pair] -= count
                    if pair_counts[pair] == 0:
                        del pair_counts[pair]
                words[w] = word = _merge(word, best, new_id)
                for pair in _pairs(word):
                    pair_counts[pair] += count
                    where.setdefault(pair, set()).add(w)
        return cls(merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        """Apply the merges to one chunk, lowest rank (earliest learnt) first."""
        ids = [_N_SPECIAL + b for b in _utf8(chunk)]
        while len(ids) > 1:
            pair = min(_pairs(ids), key=lambda p: self._ranks.get(p, np.inf))
            if pair not in self._ranks:
                break
            ids = _merge(ids, pair, self._ranks[pair])
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        ids = []
        cache = self._cache
        for chunk in _CHUNK_PATTERN.findall(text):
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = cache[chunk] = self._encode_chunk(chunk)
            ids.extend(chunk_ids)
        return ids

    def _to_json(self) -> dict:
        return {"merges": [list(pair) for pair in self.merges]}


def text_chunks(text: str) -> list[str]:
    """The word-like chunks BPE training counts pairs in, in order (special-token strings are
    left out: training never learns them). A chunk is letters with their leading space, digits,
    punctuation, or whitespace; no merge crosses a chunk boundary.

    >>> text_chunks("low lower, lowest!")
    ['low', ' lower', ',', ' lowest', '!']
    """
    check_type(text, str, "the text")
    parts = _SPECIAL_PATTERN.split(text)[::2]  # the text between special-token strings
    return [chunk for part in parts for chunk in _CHUNK_PATTERN.findall(part)]


def _pairs(ids: list[int]) -> zip:
    """The adjacent pairs of `ids`: [5, 6, 7] -> (5, 6), (6, 7)."""
    return zip(ids[:-1], ids[1:], strict=True)


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids` (left to right) by `new_id`.

    >>> _merge([5, 6, 5, 6, 7], (5, 6), 300)
    [300, 300, 7]
    """
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


_TOKENIZER_TYPES = {cls.__name__: cls for cls in (CharTokenizer, BPETokenizer)}


def _read_tokenizer_json(path: str | Path) -> dict:
    """The parsed JSON of a tokenizer file, after checking its "type" and special tokens."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no tokenizer file at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a valid tokenizer JSON file ({err})") from None
    if not isinstance(data, dict) or data.get("type") not in _TOKENIZER_TYPES:
        raise ValueError(
            f'{path} is not a tokenizer file: expected a JSON object with "type" one of '
            f"{sorted(_TOKENIZER_TYPES)}"
        )
    if data.get("special_tokens") != list(SPECIAL_TOKENS):
        raise ValueError(
            f"{path} was saved with special tokens {data.get('special_tokens')}, "
            f"expected {list(SPECIAL_TOKENS)}"
        )
    return data


def _from_json(data: dict, path: str | Path) -> Tokenizer:
    """Build the tokenizer described by a checked JSON object."""
    try:
        if data["type"] == "CharTokenizer":
            return CharTokenizer(data["chars"])
        return BPETokenizer([tuple(pair) for pair in data["merges"]])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is a corrupt {data['type']} file ({err!r})") from None


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load any tokenizer saved with `save`, choosing the class from the file's "type" field.

    >>> tok = load_tokenizer("course_lib/weights/tokenizer.json")  # doctest: +SKIP
    """
    return _from_json(_read_tokenizer_json(path), path)
