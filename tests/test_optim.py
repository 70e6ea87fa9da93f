"""AdamW, gradient clipping and the learning-rate schedule."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.optim import AdamW, clip_grad_norm, cosine_lr


def quadratic(params, target):
    """Loss sum((p - target)**2) over all params, and its gradients."""
    loss = sum(float(np.sum((p - target) ** 2)) for p in params.values())
    return loss, {name: 2 * (p - target) for name, p in params.items()}


def test_adamw_minimises_a_quadratic():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    optimizer = AdamW(params, lr=0.05, weight_decay=0.0)
    start, _ = quadratic(params, 1.0)
    for _ in range(300):
        _, grads = quadratic(params, 1.0)
        optimizer.step(grads)
    end, _ = quadratic(params, 1.0)
    assert end < 1e-3 * start
    np.testing.assert_allclose(params["w"], 1.0, atol=0.05)
    assert optimizer.step_count == 300


def test_adamw_first_step_matches_the_formula():
    params = {"w": np.array([[1.0, -2.0]]), "b": np.array([0.5])}
    grads = {"w": np.array([[0.3, -4.0]]), "b": np.array([2.0])}
    lr, wd = 0.1, 0.5
    AdamW(params, lr=lr, weight_decay=wd, eps=1e-12).step(grads)
    # after bias correction m_hat = g and v_hat = g**2, so the Adam step is lr * sign(g)
    np.testing.assert_allclose(params["w"], [[1.0 * (1 - lr * wd) - lr, -2.0 * (1 - lr * wd) + lr]])
    np.testing.assert_allclose(params["b"], [0.5 - lr])  # no decay on a 1-D parameter


@settings(max_examples=50, deadline=None)
@given(steps=st.integers(1, 6), lr=st.floats(1e-5, 1.0), eps=st.floats(1e-12, 1e-2),
       weight_decay=st.floats(0, 1), beta1=st.floats(0, 0.99), beta2=st.floats(0, 0.999),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_adamw_is_the_textbook_update(steps, lr, eps, weight_decay, beta1, beta2, seed):
    """The update, its bias corrections moved onto the scalars, equals the formula as written:
    m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t), p -= lr (m_hat / (sqrt(v_hat) + eps) + wd p)
    for matrices (without the wd term for vectors), in float64."""
    rng = np.random.default_rng(seed)
    params = {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    expected = {name: p.copy() for name, p in params.items()}
    m, v = ({name: np.zeros_like(p) for name, p in params.items()} for _ in range(2))
    optimizer = AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    for t in range(1, steps + 1):
        grads = {name: rng.normal(size=p.shape) * 10.0 ** rng.integers(-4, 3)
                 for name, p in params.items()}  # fmt: skip
        optimizer.step(grads)
        for name, p in expected.items():
            m[name] = beta1 * m[name] + (1 - beta1) * grads[name]
            v[name] = beta2 * v[name] + (1 - beta2) * grads[name] ** 2
            m_hat, v_hat = m[name] / (1 - beta1**t), v[name] / (1 - beta2**t)
            decay = weight_decay * p if p.ndim >= 2 else 0.0
            p -= lr * (m_hat / (np.sqrt(v_hat) + eps) + decay)
    for name, p in expected.items():
        np.testing.assert_allclose(params[name], p, rtol=1e-12, atol=1e-12 * lr, err_msg=name)
        np.testing.assert_allclose(optimizer.m[name], m[name], rtol=1e-12)
        np.testing.assert_allclose(optimizer.v[name], v[name], rtol=1e-12)


def test_weight_decay_touches_only_matrices():
    params = {"w": np.ones((2, 3)), "b": np.ones(3), "g": np.ones(3), "e": np.ones((2, 2, 2))}
    zero = {name: np.zeros_like(p) for name, p in params.items()}
    optimizer = AdamW(params, lr=0.1, weight_decay=0.5)
    optimizer.step(zero)
    np.testing.assert_allclose(params["w"], 0.95)
    np.testing.assert_allclose(params["e"], 0.95)
    np.testing.assert_array_equal(params["b"], 1.0)
    np.testing.assert_array_equal(params["g"], 1.0)
    optimizer.step(zero, lr=0.2)  # a per-step learning rate overrides the default
    np.testing.assert_allclose(params["w"], 0.95 * 0.9)


def test_adamw_updates_in_place_and_keeps_float32():
    w = np.ones((2, 2), dtype=np.float32)
    params = {"w": w}
    AdamW(params, lr=0.1).step({"w": np.ones((2, 2), dtype=np.float32)})
    assert params["w"] is w and w.dtype == np.float32 and np.all(w < 1)


def test_mismatched_gradients_raise_and_change_nothing():
    params = {"a": np.ones((2, 2)), "b": np.ones(3)}
    optimizer = AdamW(params)
    with pytest.raises(ValueError, match="missing {'b'}"):
        optimizer.step({"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="extra {'c'}"):
        optimizer.step({"a": np.ones((2, 2)), "b": np.ones(3), "c": np.ones(1)})
    with pytest.raises(ValueError, match=r"gradient b has shape \(4,\), expected \(3,\)"):
        optimizer.step({"a": np.ones((2, 2)), "b": np.ones(4)})
    np.testing.assert_array_equal(params["a"], 1.0)  # nothing was updated
    assert optimizer.step_count == 0


@pytest.mark.parametrize(
    "kwargs", [{"lr": 0.0}, {"eps": -1.0}, {"weight_decay": -0.1}, {"betas": (0.9, 1.0)}]
)
def test_adamw_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError, match="need lr > 0"):
        AdamW({"w": np.ones(2)}, **kwargs)


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_old_norm():
    rng = np.random.default_rng(1)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    before = {name: g.copy() for name, g in grads.items()}
    norm = math.sqrt(sum(np.sum(g**2) for g in before.values()))
    returned = clip_grad_norm(grads, 0.5)
    assert returned == pytest.approx(norm)
    new_norm = math.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert new_norm == pytest.approx(0.5)
    for name in grads:  # same direction
        np.testing.assert_allclose(grads[name], before[name] * 0.5 / norm)


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = {"a": np.array([0.3, 0.4])}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm(grads, 0.0)


def test_cosine_lr_warms_up_peaks_and_decays_to_min_lr():
    kwargs = {"max_steps": 100, "base_lr": 1.0, "warmup_steps": 10, "min_lr": 0.1}
    lrs = [cosine_lr(s, **kwargs) for s in range(101)]
    np.testing.assert_allclose(lrs[:10], np.arange(1, 11) / 10)  # linear warm-up
    assert lrs[9] == lrs[10] == pytest.approx(1.0)  # peak
    assert max(lrs) == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))  # monotone decay
    assert lrs[55] == pytest.approx(0.55)  # half way: the mean of peak and floor
    assert lrs[100] == pytest.approx(0.1)
    assert cosine_lr(500, **kwargs) == pytest.approx(0.1)  # stays at the floor
    assert cosine_lr(0, max_steps=10, base_lr=2.0) == 2.0  # no warm-up: starts at the peak


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step": 0, "max_steps": 0},
        {"step": 0, "warmup_steps": -1},
        {"step": 0, "min_lr": 2.0},
        {"step": -1},
    ],
)
def test_cosine_lr_rejects_bad_arguments(kwargs):
    full = {"max_steps": 10, "base_lr": 1.0} | kwargs
    with pytest.raises(ValueError, match="need step >= 0"):
        cosine_lr(full.pop("step"), **full)
