"""The shared input checks: token ids are checked one way at every public entry point."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.checks import check_token_ids
from course_lib.data import random_windows
from course_lib.losses import cross_entropy
from course_lib.ngram import NGramModel
from course_lib.tokenizers import CharTokenizer
from course_lib.transformer import Transformer, TransformerConfig

V = 6
TOKENIZER = CharTokenizer.train("abcdefghij")
MODEL = Transformer(TransformerConfig(vocab_size=V, block_size=16, n_layer=1, n_head=1, n_embd=4))
BIGRAM = NGramModel(vocab_size=V, n=2).fit([[0, 1, 2, 3, 4, 5]])


def entry_points():
    """Public functions that read token ids over the vocabulary of V tokens."""
    return {
        "check_token_ids": lambda ids: check_token_ids(ids, V),
        "Transformer.logits": MODEL.logits,
        "NGramModel.logits": BIGRAM.logits,
        "cross_entropy targets": lambda ids: cross_entropy(
            np.zeros((len(np.asarray(ids)), V)), ids
        ),
    }


ids_lists = st.lists(st.integers(-3, V + 3), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(ids_lists)
def test_every_entry_point_accepts_exactly_the_ids_in_range(ids):
    """The same ids are accepted everywhere, or rejected everywhere with the same message tail."""
    bad = [(i, x) for i, x in enumerate(ids) if not 0 <= x < V]
    for call in entry_points().values():
        if not bad:
            call(ids)
            continue
        position, value = bad[0]
        with pytest.raises(ValueError, match=rf"token id {value} at position {position} is out"):
            call(ids)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-2, 8, allow_nan=False), min_size=1, max_size=8)
       | st.lists(st.booleans(), min_size=1, max_size=8))  # fmt: skip
def test_every_entry_point_rejects_non_integers_with_a_type_error(values):
    calls = {**entry_points(), "random_windows": lambda ids: random_windows(ids, 1, 1, None),
             "Tokenizer.decode": TOKENIZER.decode}  # fmt: skip
    for call in calls.values():
        with pytest.raises(TypeError, match="integer token ids"):
            call(values)


def test_a_tokenizer_names_the_first_id_out_of_range():
    V_tok = TOKENIZER.vocab_size
    with pytest.raises(ValueError, match=rf"token id {V_tok} at position 1 is out of range: "
                                         rf"token ids must lie in \[0, {V_tok}\)"):  # fmt: skip
        TOKENIZER.decode([0, V_tok, -1])


def test_ragged_and_misshapen_ids_raise_value_errors():
    with pytest.raises(ValueError, match="ragged"):
        check_token_ids([[1, 2], [3]], V)
    with pytest.raises(ValueError, match="1-D, one sequence"):
        TOKENIZER.decode([[1, 2]])
    with pytest.raises(ValueError, match="got 3 dimensions"):
        MODEL.logits(np.zeros((1, 1, 2), dtype=int))
    with pytest.raises(ValueError, match="at least one token"):
        MODEL.logits([])
    assert TOKENIZER.decode([]) == ""  # a tokenizer decodes nothing to nothing
