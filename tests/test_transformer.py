"""Transformer and its layers: gradients vs finite differences, causality, KV cache, checkpoints,
input validation."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import layers
from course_lib.transformer import Transformer, TransformerConfig

TINY = dict(vocab_size=11, block_size=5, n_layer=2, n_head=2, n_embd=8)


def tiny_model(tie_weights=True, dtype=np.float64, seed=0):
    """A tiny model with larger-than-init random weights, so every path carries gradient."""
    model = Transformer(TransformerConfig(**TINY, tie_weights=tie_weights), seed=seed)
    model = model.astype(dtype)
    rng = np.random.default_rng(seed + 100)
    for p in model.params.values():
        p += (0.3 * rng.standard_normal(p.shape)).astype(dtype)
    return model


def assert_close_grad(analytic, numeric, what):
    """Relative error < 1e-5, or both essentially zero (e.g. key biases: softmax shift)."""
    diff = abs(analytic - numeric)
    assert diff < 1e-9 or diff / (abs(analytic) + abs(numeric)) < 1e-5, (what, analytic, numeric)


def check_function_grads(f, arrays, grads, rng, n_entries=6, eps=1e-6):
    """Compare grads[i] with central differences of the scalar f() w.r.t. arrays[i]."""
    for i, (x, g) in enumerate(zip(arrays, grads, strict=True)):
        assert g.shape == x.shape
        flat = range(x.size) if x.size <= 32 else rng.choice(x.size, n_entries, replace=False)
        for j in flat:
            idx = np.unravel_index(j, x.shape)
            old = x[idx]
            x[idx] = old + eps
            plus = f()
            x[idx] = old - eps
            minus = f()
            x[idx] = old
            assert_close_grad(g[idx], (plus - minus) / (2 * eps), (i, idx))


# ----------------------------------------------------------------------------- layers


def test_layer_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    N, C = 4, 6
    x = rng.standard_normal((N, C))
    g, b = 1 + rng.standard_normal(C), rng.standard_normal(C)
    w, bias = rng.standard_normal((C, 3)), rng.standard_normal(3)

    def check(forward, backward, inputs):
        out, cache = forward(*inputs)
        R = rng.standard_normal(out.shape)
        grads = backward(R, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        check_function_grads(lambda: (forward(*inputs)[0] * R).sum(), inputs, grads, rng)

    check(layers.normalize_forward, layers.normalize_backward, [x])
    check(layers.layernorm_forward, layers.layernorm_backward, [x, g, b])
    check(layers.gelu_forward, layers.gelu_backward, [3 * x])
    check(layers.linear_forward, layers.linear_backward, [x, w, bias])

    def affine_then_linear(xhat, g, b, w, c):
        h, w2, c2, affine = layers.affine_forward(xhat, g, b, w, c)
        y, linear = layers.linear_forward(h, w2, c2)
        return y, (affine, linear)

    def affine_then_linear_backward(dy, cache):
        return layers.affine_backward(*layers.linear_backward(dy, cache[1]), cache[0])

    for rows in (2, 8):  # fewer rows than w has columns (3): applied to the rows; more: folded
        xhat = rng.standard_normal((rows, C))
        assert layers.affine_forward(xhat, g, b, w, bias)[3][0] == (rows > 3)
        check(affine_then_linear, affine_then_linear_backward, [xhat, g, b, w, bias])
    mlp = [x, rng.standard_normal((C, 4 * C)), rng.standard_normal(4 * C),
           rng.standard_normal((4 * C, C)), rng.standard_normal(C)]  # fmt: skip
    check(layers.mlp_forward, layers.mlp_backward, mlp)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    mask = layers.causal_mask(5, np.float64)
    check(lambda q, k, v: layers.attention_forward(q, k, v, mask), layers.attention_backward,
          [q, k, v])  # fmt: skip


def test_gelu_matches_the_tanh_formula_and_softmax_is_stable():
    x = np.linspace(-5, 5, 11)
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(layers.gelu_forward(x)[0], expected, rtol=1e-12)
    q = np.full((1, 1, 3, 2), 1e4, dtype=np.float32)  # huge scores must not overflow
    y, _ = layers.attention_forward(q, q, q, layers.causal_mask(3))
    assert np.all(np.isfinite(y))


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.1, 1.0, 4.0, 30.0]),
       start=st.integers(0, 3), dtype=st.sampled_from([np.float32, np.float64]),
       Tq=st.integers(1, 2 * layers.FEW_QUERIES + 2))
def test_attention_is_the_softmax_of_the_scores_whatever_their_size(seed, scale, start, dtype,
                                                                    Tq):
    """However the softmax is shifted (by the own key's score, or by the row maximum when
    another key outscores it far) and the keys read (copied, or a view for a few queries),
    attention is the float64 softmax of the masked scores times v, also for queries that
    continue a cache (Tk = start + Tq keys, the mask sliced as the model slices it)."""
    rng = np.random.default_rng(seed)
    d = 8
    Tk = start + Tq
    q, k = (scale * rng.standard_normal((2, 3, T, d)) for T in (Tq, Tk))
    v = rng.standard_normal((2, 3, Tk, d))
    q, k, v = (a.astype(dtype) for a in (q, k, v))
    y, cache = layers.attention_forward(q, k, v, layers.causal_mask(Tk, dtype)[start:])
    scores = (q.astype(np.float64) @ k.astype(np.float64).swapaxes(-1, -2) / np.sqrt(d)
              + layers.causal_mask(Tk, np.float64)[start:])  # fmt: skip
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    atol = 64 * np.finfo(dtype).eps * max(1.0, np.abs(scores[np.isfinite(scores)]).max())
    np.testing.assert_allclose(layers.attention_probabilities((None, cache)), p, atol=atol)
    np.testing.assert_allclose(y, p @ v, atol=atol * np.abs(v).max())


def test_attention_to_a_key_that_far_outscores_the_own_key():
    """Every query reads key 0, whose score beats the query's own by about 350: the shift by the
    own key's score would overflow exp, so those rows are redone with the row maximum."""
    u = np.ones(4, dtype=np.float32)
    k = np.stack([30 * u, u, u])[None, None]                  # (1, 1, 3, 4)
    v = np.eye(3, 4, dtype=np.float32)[None, None]             # key j's value is e_j
    y, cache = layers.attention_forward(6 * u * np.ones((1, 1, 3, 1), np.float32), k, v,
                                        layers.causal_mask(3))  # fmt: skip
    np.testing.assert_allclose(y[0, 0], v[0, 0, [0, 0, 0]], atol=1e-6)
    dq, dk, dv = layers.attention_backward(np.ones_like(y), cache)
    assert all(np.all(np.isfinite(g)) for g in (dq, dk, dv))


# ----------------------------------------------------------------------------- model gradients


@pytest.mark.parametrize("tie_weights", [True, False])
def test_every_parameter_gradient_matches_finite_differences(tie_weights):
    model = tiny_model(tie_weights)
    rng = np.random.default_rng(1)
    ids = rng.integers(0, TINY["vocab_size"], size=(3, TINY["block_size"]))
    R = rng.standard_normal((3, TINY["block_size"], TINY["vocab_size"]))
    logits, cache = model.forward(ids)
    grads = model.backward(R, cache)
    assert set(grads) == set(model.params)
    assert ("lm_head" in grads) == (not tie_weights)
    names = list(model.params)
    check_function_grads(lambda: (model.logits(ids) * R).sum(),
                         [model.params[n] for n in names], [grads[n] for n in names], rng,
                         n_entries=5, eps=1e-5)  # fmt: skip


def test_backward_of_a_single_sequence_and_float32_default():
    model = Transformer(TransformerConfig(**TINY))
    assert all(p.dtype == np.float32 for p in model.params.values())
    logits, cache = model.forward([1, 2, 3])
    assert logits.shape == (3, 11) and logits.dtype == np.float32
    grads = model.backward(np.ones_like(logits), cache)
    assert all(grads[n].shape == p.shape and grads[n].dtype == np.float32
               for n, p in model.params.items())  # fmt: skip
    with pytest.raises(ValueError, match="expected \\(3, 11\\)"):
        model.backward(np.ones((1, 3, 11)), cache)


def test_init_is_seeded_and_gpt2_scaled():
    cfg = TransformerConfig(vocab_size=50, n_layer=8, n_embd=64)
    a, b = Transformer(cfg, seed=3), Transformer(cfg, seed=3)
    assert all(np.array_equal(a.params[n], b.params[n]) for n in a.params)
    assert not np.array_equal(a.params["wte"], Transformer(cfg, seed=4).params["wte"])
    assert abs(a.params["wte"].std() - 0.02) < 0.002
    assert abs(a.params["h.0.mlp.w_proj"].std() - 0.02 / 4) < 0.0005
    assert a.num_params() == sum(p.size for p in a.params.values())
    untied = Transformer(TransformerConfig(vocab_size=50, n_layer=8, n_embd=64, tie_weights=False))
    assert untied.num_params() == a.num_params() + 50 * 64


# ----------------------------------------------------------------------------- causality, cache


def test_changing_a_token_never_changes_earlier_logits():
    model = tiny_model()
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 11, size=(2, 5))
    base = model.logits(ids)
    for t in range(5):
        changed = ids.copy()
        changed[:, t] = (changed[:, t] + 1) % 11
        out = model.logits(changed)
        np.testing.assert_array_equal(out[:, :t], base[:, :t])
        assert not np.allclose(out[:, t], base[:, t])


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_kv_cache_matches_full_forward(dtype, tol):
    model = tiny_model(dtype=dtype)
    ids = np.random.default_rng(3).integers(0, 11, size=(2, 5))
    full = model.logits(ids)
    for chunks in ([1, 1, 1, 1, 1], [2, 3], [5], [3, 1, 1]):
        kv, start, pieces = model.new_kv_cache(batch_size=2), 0, []
        for size in chunks:
            pieces.append(model.forward_cached(ids[:, start : start + size], kv))
            start += size
        assert kv.length == 5
        np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=tol, rtol=tol)
    with pytest.raises(ValueError, match="exceed block_size"):
        model.forward_cached(ids[:, :1], kv)
    with pytest.raises(ValueError, match="batch size"):
        model.forward_cached(ids[:1, :1], model.new_kv_cache(batch_size=2))


def test_next_token_probs_reads_the_last_block_size_tokens():
    model = tiny_model()
    context = [1, 2, 3, 4, 5, 6, 7, 8]
    probs = model.next_token_probs(context)
    assert probs.shape == (11,) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(), 1.0)
    np.testing.assert_allclose(probs, model.next_token_probs(context[-5:]))


def test_attention_weights_are_causal_distributions_from_the_forward_pass():
    model = tiny_model()
    ids = np.array([3, 1, 4, 1, 5])
    weights = model.attention_weights(ids)
    assert weights.shape == (2, 2, 5, 5) and weights.dtype == np.float64
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(np.triu(weights, k=1) == 0) and np.all(weights >= 0)
    assert np.all(weights[:, :, 0, 0] == 1)  # the first token can only read itself
    # layer 0 by hand: softmax(q k^T / sqrt(d) + mask) from the first layer norm and w_qkv
    P, C, H = model.params, 8, 2
    x = model.params["wte"][ids] + model.params["wpe"][:5]
    h = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    qkv = (h * P["h.0.ln1.g"] + P["h.0.ln1.b"]) @ P["h.0.attn.w_qkv"] + P["h.0.attn.b_qkv"]
    q, k = (qkv[:, i * C : (i + 1) * C].reshape(5, H, C // H).transpose(1, 0, 2) for i in (0, 1))
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(C // H) + layers.causal_mask(5, np.float64)
    by_hand = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(weights[0], by_hand / by_hand.sum(-1, keepdims=True), rtol=1e-10)
    with pytest.raises(ValueError, match="one sequence"):
        model.attention_weights(ids[None])
    with pytest.raises(ValueError, match="exceeds block_size"):
        model.attention_weights(np.zeros(6, dtype=int))


# ----------------------------------------------------------------------------- checkpoints


def test_save_load_round_trip(tmp_path):
    model = tiny_model(tie_weights=False, dtype=np.float32)
    model.save(tmp_path / "ckpt", metadata={"steps": 7})
    ids = np.array([[1, 2, 3, 4]])
    for path in ("ckpt", "ckpt.npz", "ckpt.json"):
        loaded = Transformer.load(tmp_path / path)
        assert loaded.config == model.config and loaded.metadata == {"steps": 7}
        np.testing.assert_array_equal(loaded.logits(ids), model.logits(ids))


def test_corrupt_checkpoints_give_clear_errors(tmp_path):
    model = tiny_model(dtype=np.float32)
    base = tmp_path / "m"
    model.save(base)
    good_json = (tmp_path / "m.json").read_text()
    weights = dict(np.load(tmp_path / "m.npz"))

    def broken(json_text=good_json, params=weights):
        (tmp_path / "m.json").write_text(json_text)
        np.savez(tmp_path / "m.npz", **params)
        return base

    with pytest.raises(FileNotFoundError, match="missing"):
        Transformer.load(tmp_path / "nothing")
    (tmp_path / "m.json").unlink()
    with pytest.raises(FileNotFoundError, match="m.json"):
        Transformer.load(base)
    with pytest.raises(ValueError, match="not valid JSON"):
        Transformer.load(broken(json_text="{not json"))
    config = json.loads(good_json)
    config["config"]["n_layr"] = 2
    with pytest.raises(ValueError, match="unknown transformer config field"):
        Transformer.load(broken(json_text=json.dumps(config)))
    config = json.loads(good_json)
    config["config"]["n_embd"] = 16
    with pytest.raises(ValueError, match="has shape .* config expects"):
        Transformer.load(broken(json_text=json.dumps(config)))
    config = json.loads(good_json)
    config["config"]["n_head"] = 3
    with pytest.raises(ValueError, match="multiple of n_head"):
        Transformer.load(broken(json_text=json.dumps(config)))
    missing = {k: v for k, v in weights.items() if k != "h.1.ln2.g"}
    with pytest.raises(ValueError, match="missing weights \\['h.1.ln2.g'\\]"):
        Transformer.load(broken(params=missing))
    with pytest.raises(ValueError, match="unexpected weights \\['extra'\\]"):
        Transformer.load(broken(params={**weights, "extra": np.zeros(2)}))
    broken()
    (tmp_path / "m.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable .npz"):
        Transformer.load(base)


# ----------------------------------------------------------------------------- validation


def test_input_validation_errors():
    model = Transformer(TransformerConfig(**TINY))
    with pytest.raises(TypeError, match="integers"):
        model.logits(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="dimensions"):
        model.logits(np.zeros((1, 1, 2), dtype=int))
    with pytest.raises(ValueError, match="at least one token"):
        model.logits(np.zeros((1, 0), dtype=int))
    with pytest.raises(ValueError, match="out of range"):
        model.logits([[0, 11]])
    with pytest.raises(ValueError, match="out of range"):
        model.logits([[-1, 0]])
    with pytest.raises(ValueError, match="exceeds block_size 5"):
        model.logits(np.zeros((1, 6), dtype=int))
    with pytest.raises(ValueError, match="multiple of n_head"):
        TransformerConfig(vocab_size=10, n_head=3, n_embd=8)
    with pytest.raises(ValueError, match="positive"):
        TransformerConfig(vocab_size=0)
    with pytest.raises(TypeError, match="must be an int"):
        TransformerConfig(vocab_size=10.0)
    with pytest.raises(ValueError, match="missing the required field"):
        TransformerConfig.from_dict({"n_layer": 2})
    cfg = TransformerConfig(**TINY, tie_weights=False)
    assert TransformerConfig.from_dict(cfg.to_dict()) == cfg
