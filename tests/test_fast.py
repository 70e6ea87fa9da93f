"""course_lib.fast against course_lib.transformer: each fast function equals its plain twin.

Each twin is compared in float64 on random shapes and seeds (hypothesis) to ~1e-10; whole
training steps are compared in float32; the shipped model's greedy completions and validation
loss are the same under both. A fast function left out of this suite fails
test_every_fast_function_is_compared_with_its_plain_twin.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import fast, losses, optim
from course_lib import transformer as plain
from course_lib.optim import AdamW, clip_grad_norm
from course_lib.training import train_step
from course_lib.transformer import Transformer, TransformerConfig, block_shapes


def assert_same(fast_result, plain_result, rtol=1e-10):
    """Arrays (or tuples and dicts of them) equal to rtol, relative to the largest entry."""
    if isinstance(plain_result, dict):
        assert fast_result.keys() == plain_result.keys()
        for name in plain_result:
            assert_same(fast_result[name], plain_result[name], rtol)
    elif isinstance(plain_result, tuple):
        assert len(fast_result) == len(plain_result)
        for f, p in zip(fast_result, plain_result, strict=True):
            assert_same(f, p, rtol)
    else:
        plain_result = np.asarray(plain_result)
        assert np.shape(fast_result) == plain_result.shape
        scale = max(1.0, float(np.abs(plain_result).max(initial=0.0)))
        np.testing.assert_allclose(fast_result, plain_result, rtol=rtol, atol=rtol * scale)


# Each pair: (inputs from a random generator and sizes) -> ([arrays], [other arguments]).
def _linear(rng, B, T, C, H):
    return [rng.standard_normal((B, T, C)), rng.standard_normal((C, 3 * C)),
            rng.standard_normal(3 * C)], []


def _layernorm(rng, B, T, C, H):
    return [3 * rng.standard_normal((B, T, C)) + 1, 1 + rng.standard_normal(C),
            rng.standard_normal(C)], []


def _gelu(rng, B, T, C, H):
    return [4 * rng.standard_normal((B, T, 4 * C))], []


def _mlp(rng, B, T, C, H):
    return [rng.standard_normal((B, T, C)), rng.standard_normal((C, 4 * C)),
            rng.standard_normal(4 * C), rng.standard_normal((4 * C, C)),
            rng.standard_normal(C)], []


def _attention(rng, B, T, C, H):
    start = int(rng.integers(0, 4))  # queries that continue a cache of `start` tokens
    scale = float(rng.choice([0.1, 1.0, 6.0, 30.0]))  # scores far apart: the shift's redo path
    d = C // H
    return [scale * rng.standard_normal((B, H, T, d)),
            scale * rng.standard_normal((B, H, start + T, d)),
            rng.standard_normal((B, H, start + T, d))], []


def _self_attention(rng, B, T, C, H):
    return [rng.standard_normal((B, T, C)), rng.standard_normal((C, 3 * C)) / np.sqrt(C),
            rng.standard_normal(3 * C), rng.standard_normal((C, C)),
            rng.standard_normal(C)], [H]


def _block(rng, B, T, C, H):
    params = {name: rng.standard_normal(shape) / (np.sqrt(shape[0]) if len(shape) > 1 else 1)
              for name, shape in block_shapes(C).items()}  # fmt: skip
    return [rng.standard_normal((B, T, C)), params], [H]


LAYER_PAIRS = {"linear": _linear, "layernorm": _layernorm, "gelu": _gelu, "mlp": _mlp,
               "attention": _attention, "self_attention": _self_attention, "block": _block}


def random_model(seed: int, dtype=np.float64, **sizes) -> Transformer:
    config = TransformerConfig(**{"vocab_size": 13, "block_size": 9, "n_layer": 2, "n_head": 2,
                                  "n_embd": 8, **sizes})  # fmt: skip
    model = Transformer(config, seed=seed).astype(dtype)
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p += (0.3 * rng.standard_normal(p.shape)).astype(dtype)
    return model


# the fast functions each test below covers
COVERED = {f"{pair}_{way}" for pair in LAYER_PAIRS for way in ("forward", "backward")} | {
    "embedding_backward", "forward", "backward", "cross_entropy_and_grad", "loss_and_gradients",
    "adamw_update"}


def test_every_fast_function_is_compared_with_its_plain_twin():
    public = {name for name, f in inspect.getmembers(fast, inspect.isfunction)
              if f.__module__ == fast.__name__ and not name.startswith("_")}  # fmt: skip
    assert public - {"keep_freed_memory"} == set(fast.TWINS) == COVERED
    for plain_names in fast.TWINS.values():  # each twin names functions that exist
        for dotted in plain_names:
            parts = dotted.split(".")
            owner = importlib.import_module(".".join(parts[:2]))
            for part in parts[2:]:
                owner = getattr(owner, part)
            assert callable(owner), dotted


@pytest.mark.parametrize("pair", sorted(LAYER_PAIRS))
@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 2 * fast.FEW_QUERIES + 2),
       H=st.sampled_from([1, 2, 4]), seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_each_fast_layer_equals_its_plain_twin_in_float64(pair, B, T, H, seed):
    """Forward outputs and backward gradients; B*T rows on both sides of every branch that a
    fast layer takes on the row count (folded layer norms, few queries)."""
    rng = np.random.default_rng(seed)
    arrays, args = LAYER_PAIRS[pair](rng, B, T, 4 * H, H)
    forward_plain, backward_plain = (getattr(plain, f"{pair}_{w}") for w in ("forward", "backward"))
    forward_fast, backward_fast = (getattr(fast, f"{pair}_{w}") for w in ("forward", "backward"))
    out_plain, cache_plain = forward_plain(*arrays, *args)
    out_fast, cache_fast = forward_fast(*arrays, *args)
    assert_same(out_fast, out_plain)
    dout = rng.standard_normal(out_plain.shape)
    assert_same(backward_fast(dout, cache_fast), backward_plain(dout, cache_plain))


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 9), start=st.integers(0, 3),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_embedding_gradient_equals_its_plain_twin(B, T, start, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 5, size=(B, T))  # few tokens: most are used several times
    _, cache = plain.embedding_forward(ids, rng.standard_normal((5, 4)),
                                       rng.standard_normal((12, 4)), start)  # fmt: skip
    dx = rng.standard_normal((B, T, 4))
    assert_same(fast.embedding_backward(dx, cache), plain.embedding_backward(dx, cache))


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 9), tie=st.booleans(), single=st.booleans(),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_fast_model_pass_equals_the_models_own(B, T, tie, single, seed):
    model = random_model(seed, tie_weights=tie)
    ids = np.random.default_rng(seed).integers(0, 13, size=(T,) if single else (B, T))
    logits, cache = model.forward(ids)
    fast_logits, fast_cache = fast.forward(model, ids)
    assert_same(fast_logits, logits)
    dlogits = np.random.default_rng(seed + 1).standard_normal(logits.shape)
    assert_same(fast.backward(model, dlogits, fast_cache), model.backward(dlogits, cache))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), V=st.integers(2, 9),
       reduction=st.sampled_from(losses.REDUCTIONS), masked=st.booleans(),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_fused_loss_and_gradient_equal_the_plain_ones(shape, V, reduction, masked, seed):
    rng = np.random.default_rng(seed)
    logits = 5 * rng.standard_normal((*shape, V))
    targets = rng.integers(0, V, size=shape)
    mask = None
    if masked:
        mask = rng.integers(0, 2, size=shape)
        mask.flat[0] = 1  # at least one predicted token, so that the mean is defined
    loss, grad = fast.cross_entropy_and_grad(logits, targets, mask, reduction)
    assert_same(loss, losses.cross_entropy(logits, targets, mask, reduction))
    assert_same(grad, losses.cross_entropy_grad(logits, targets, mask, reduction))


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 9), masked=st.booleans(), diverged=st.booleans(),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_the_loss_and_gradients_equal_the_models_own(B, T, masked, diverged, seed):
    model, rng = random_model(seed), np.random.default_rng(seed)
    x, y = rng.integers(0, 13, size=(B, T)), rng.integers(0, 13, size=(B, T))
    mask = None
    if masked:
        mask = rng.integers(0, 2, size=(B, T))
        mask.flat[0] = 1  # at least one predicted token
    if diverged:
        model.params["wte"][x[0, 0]] = np.inf
        with pytest.raises(FloatingPointError, match="diverged"), np.errstate(invalid="ignore"):
            fast.loss_and_gradients(model, x, y, mask)
        return
    loss, grads = fast.loss_and_gradients(model, x, y, mask)
    logits, cache = model.forward(x)
    assert_same(loss, losses.cross_entropy(logits, y, mask))
    assert_same(grads, model.backward(losses.cross_entropy_grad(logits, y, mask), cache))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 300), min_size=1, max_size=2), step=st.integers(1, 50),
       lr=st.floats(1e-5, 1.0), eps=st.floats(1e-12, 1e-2), weight_decay=st.floats(0, 1),
       beta1=st.floats(0, 0.99), beta2=st.floats(0, 0.999), seed=st.integers(0, 2**32 - 1))
def test_the_blocked_update_equals_adamws(shape, step, lr, eps, weight_decay, beta1, beta2,
                                          seed):
    """Arrays of up to 90,000 numbers: several blocks (BLOCK_ELEMENTS), the last one short."""
    rng = np.random.default_rng(seed)
    param, grad, m = (rng.standard_normal(shape) for _ in range(3))
    v = rng.standard_normal(shape) ** 2
    plain_arrays = [a.copy() for a in (param, m, v)]
    settings = {"lr": lr, "step": step, "betas": (beta1, beta2), "eps": eps,
                "weight_decay": weight_decay}
    optim.adamw_update(plain_arrays[0], grad, *plain_arrays[1:], **settings)
    fast.adamw_update(param, grad, m, v, **settings)
    assert_same((param, m, v), tuple(plain_arrays))


def test_the_blocked_update_refuses_arrays_it_cannot_update_in_place():
    param = np.zeros((4, 6))
    with pytest.raises(ValueError, match="contiguous"):
        fast.adamw_update(param.T, np.ones((6, 4)), np.zeros((6, 4)), np.zeros((6, 4)), lr=0.1,
                          step=1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    assert not param.any()


def plain_train_step(model, batch, optimizer, lr, clip=1.0) -> float:
    """training.train_step through the model's own (plain) forward, loss and backward."""
    x, y = batch
    logits, cache = model.forward(x)
    loss = float(losses.cross_entropy(logits, y))
    grads = model.backward(losses.cross_entropy_grad(logits, y), cache)
    clip_grad_norm(grads, clip)
    optimizer.step(grads, lr=lr)
    return loss


def test_training_steps_in_float32_match_the_plain_path():
    """Ten AdamW steps in float32: the losses agree to 1e-5 relative and every weight to 1e-4
    of its tensor's scale (float32 rounding, compounded by the steps, is all that differs)."""
    runs = []
    for step in (plain_train_step, train_step):
        model = random_model(0, dtype=np.float32, vocab_size=50, block_size=16, n_embd=16)
        optimizer, rng, history = AdamW(model.params, lr=1e-2), np.random.default_rng(1), []
        for _ in range(10):
            tokens = rng.integers(0, 50, size=(4, 17))
            history.append(step(model, (tokens[:, :-1], tokens[:, 1:]), optimizer, lr=1e-2))
        runs.append((np.array(history), model.params))
    (plain_losses, plain_params), (fast_losses, fast_params) = runs
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-5)
    assert plain_losses[-1] < plain_losses[0]
    assert_trained_alike(fast_params, plain_params)


def assert_trained_alike(params: dict, reference: dict) -> None:
    """Weights trained along two float32 paths agree to 1e-4 of each tensor's scale."""
    C = reference["wte"].shape[1]
    for name, p in reference.items():
        if name.endswith("attn.b_qkv"):  # the key bias's gradient is 0 (a softmax shift) up to
            p, f = np.delete(p, np.s_[C : 2 * C]), np.delete(params[name], np.s_[C : 2 * C])
        else:  # rounding, which AdamW divides by its own size: it moves by noise on both paths
            f = params[name]
        np.testing.assert_allclose(f, p, atol=1e-4 * np.abs(p).max(), err_msg=name)


@pytest.mark.slow
def test_the_shipped_model_completes_and_scores_the_same_under_both_paths():
    """Every fact's greedy completion, and the recorded validation loss within 1 %."""
    from course_lib.corpus import FACTS
    from course_lib.pretrained import load_base_model, validation_windows

    model, tokenizer = load_base_model()
    prompts = [tokenizer.encode(prompt) for prompt, _ in FACTS]
    ids = {"plain": [list(p) for p in prompts], "fast": [list(p) for p in prompts]}
    paths = {"plain": model.logits, "fast": lambda x: fast.forward(model, x)[0]}
    for _ in range(6):  # greedy: the most probable next token, fed back
        for path, forward in paths.items():
            by_length: dict[int, list] = {}  # one batch per prompt length
            for seq in ids[path]:
                by_length.setdefault(len(seq), []).append(seq)
            for rows in by_length.values():
                for seq, token in zip(rows, np.argmax(forward(np.array(rows))[:, -1], axis=-1),
                                      strict=True):
                    seq.append(int(token))
    assert ids["fast"] == ids["plain"]
    windows = validation_windows(tokenizer, model.block_size)
    total = sum(float(fast.cross_entropy_and_grad(fast.forward(model, batch[:, :-1])[0],
                                                  batch[:, 1:], reduction="sum")[0])
                for batch in np.array_split(windows, max(1, len(windows) // 32)))
    recorded = model.metadata["validation_loss"]
    assert abs(total / windows[:, 1:].size - recorded) < 0.01 * recorded


def test_attention_to_a_key_that_far_outscores_the_own_key():
    """Every query reads key 0, whose score beats the query's own by about 350: the shift by the
    own key's score would overflow exp, so those rows are redone with the row maximum."""
    u = np.ones(4, dtype=np.float32)
    k = np.stack([30 * u, u, u])[None, None]                  # (1, 1, 3, 4)
    v = np.eye(3, 4, dtype=np.float32)[None, None]             # key j's value is e_j
    q = 6 * u * np.ones((1, 1, 3, 1), np.float32)
    y, cache = fast.attention_forward(q, k, v)
    np.testing.assert_allclose(y[0, 0], v[0, 0, [0, 0, 0]], atol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in fast.attention_backward(np.ones_like(y), cache))
    assert_same(y, plain.attention_forward(q, k, v)[0], rtol=1e-6)
