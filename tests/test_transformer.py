"""Transformer and its layers: gradients vs finite differences, causality, KV cache, checkpoints,
input validation."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import transformer as T_
from course_lib.transformer import Transformer, TransformerConfig, block_shapes

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
    assert diff < 1e-8 or diff / (abs(analytic) + abs(numeric)) < 1e-5, (what, analytic, numeric)


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
    B, T, C, H = 2, 3, 6, 2
    x = rng.standard_normal((B, T, C))
    g, b = 1 + rng.standard_normal(C), rng.standard_normal(C)
    w, bias = rng.standard_normal((C, 3)), rng.standard_normal(3)

    def check(forward, backward, inputs, *args):
        out, cache = forward(*inputs, *args)
        R = rng.standard_normal(out.shape)
        grads = backward(R, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        check_function_grads(lambda: (forward(*inputs, *args)[0] * R).sum(), inputs,
                             grads[: len(inputs)], rng)  # fmt: skip

    check(T_.layernorm_forward, T_.layernorm_backward, [x, g, b])
    check(T_.gelu_forward, T_.gelu_backward, [3 * x])
    check(T_.linear_forward, T_.linear_backward, [x, w, bias])
    mlp = [x, rng.standard_normal((C, 4 * C)), rng.standard_normal(4 * C),
           rng.standard_normal((4 * C, C)), rng.standard_normal(C)]  # fmt: skip
    check(T_.mlp_forward, T_.mlp_backward, mlp)
    for Tq, Tk in ((5, 5), (2, 5)):  # all positions, and queries that continue a cache
        q, k, v = (rng.standard_normal((2, 3, n, 4)) for n in (Tq, Tk, Tk))
        check(T_.attention_forward, T_.attention_backward, [q, k, v])
    attn = [x, rng.standard_normal((C, 3 * C)), rng.standard_normal(3 * C),
            rng.standard_normal((C, C)), rng.standard_normal(C)]  # fmt: skip
    check(T_.self_attention_forward, T_.self_attention_backward, attn, H)
    ids = np.array([[0, 2, 2], [1, 0, 2]])
    wte, wpe = rng.standard_normal((4, C)), rng.standard_normal((5, C))
    check(lambda wte, wpe: T_.embedding_forward(ids, wte, wpe, 1), T_.embedding_backward,
          [wte, wpe])  # fmt: skip


def test_each_block_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    C = 8
    p = {name: rng.standard_normal(shape) * (0.5 if len(shape) > 1 else 1.0)
         for name, shape in block_shapes(C).items()}  # fmt: skip
    x = rng.standard_normal((2, 4, C))
    out, cache = T_.block_forward(x, p, 2)
    R = rng.standard_normal(out.shape)
    dx, grads = T_.block_backward(R, cache)
    names = list(p)
    check_function_grads(lambda: (T_.block_forward(x, p, 2)[0] * R).sum(),
                         [x] + [p[n] for n in names], [dx] + [grads[n] for n in names], rng)


def test_gelu_matches_the_tanh_formula_and_attention_is_causal():
    x = np.linspace(-5, 5, 11)
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(T_.gelu_forward(x)[0], expected, rtol=1e-12)
    np.testing.assert_array_equal(T_.causal_mask(3, 3), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(T_.causal_mask(1, 4), np.ones((1, 4), bool))
    q = np.full((1, 1, 3, 2), 1e4, dtype=np.float32)  # huge scores must not overflow
    y, cache = T_.attention_forward(q, q, q)
    assert np.all(np.isfinite(y))
    assert np.all(np.triu(T_.attention_probabilities(cache)[0, 0], k=1) == 0)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 5), H=st.integers(1, 3), d=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_splitting_and_merging_heads_are_inverse_and_keep_each_heads_features(B, T, H, d, seed):
    x = np.random.default_rng(seed).standard_normal((B, T, H * d))
    heads = T_.split_heads(x, H)
    assert heads.shape == (B, H, T, d)
    np.testing.assert_array_equal(heads[:, 1 % H], x[..., (1 % H) * d : (1 % H + 1) * d])
    np.testing.assert_array_equal(T_.merge_heads(heads), x)


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
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(C // H)
    scores = np.where(T_.causal_mask(5, 5), scores, -np.inf)
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
