"""Transformer.attention_weights: the attention probabilities of every layer and head, by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.layers import causal_mask, layernorm_forward, split_heads
from course_lib.transformer import Transformer, TransformerConfig

CONFIG = TransformerConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=8)
MODEL = Transformer(CONFIG, seed=3, dtype=np.float64)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, CONFIG.vocab_size - 1), min_size=1, max_size=CONFIG.block_size))
def test_weights_are_causal_probability_rows(ids):
    weights = MODEL.attention_weights(np.array(ids))
    T = len(ids)
    assert weights.shape == (CONFIG.n_layer, CONFIG.n_head, T, T)
    assert np.allclose(weights.sum(axis=-1), 1.0)
    assert np.all(weights >= 0) and np.all(np.triu(weights, k=1) == 0)


def test_first_layer_weights_are_softmax_of_scaled_query_key_scores():
    ids = np.array([1, 5, 2, 7, 7, 0])
    T, C, H = len(ids), CONFIG.n_embd, CONFIG.n_head
    P = MODEL.params
    x = P["wte"][ids] + P["wpe"][:T]                               # (T, C)
    h, _ = layernorm_forward(x, P["h.0.ln1.g"], P["h.0.ln1.b"])
    qkv = h @ P["h.0.attn.w_qkv"] + P["h.0.attn.b_qkv"]            # (T, 3C)
    q, k = (split_heads(part, 1, H)[0] for part in (qkv[:, :C], qkv[:, C : 2 * C]))  # (H, T, d)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(C // H) + causal_mask(T, np.float64)
    expected = np.exp(scores - scores.max(axis=-1, keepdims=True))
    expected /= expected.sum(axis=-1, keepdims=True)
    assert np.allclose(MODEL.attention_weights(ids)[0], expected)


def test_a_batch_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"one sequence of ids \(T,\)"):
        MODEL.attention_weights(np.zeros((2, 3), dtype=int))
