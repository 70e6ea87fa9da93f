"""Losses: gradients against finite differences, properties of softmax and cross-entropy,
masking, numerical stability, input errors, and sequence/dataset losses of a real model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.losses import (
    cross_entropy,
    cross_entropy_grad,
    dataset_loss,
    log_softmax,
    one_hot,
    perplexity,
    sequence_loss,
    softmax,
    softmax_backward,
    token_losses,
)
from course_lib.ngram import NGramModel

EPS = 1e-6


def numerical_grad(f, x):
    """Central differences of the scalar function f at x (float64), one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + EPS
        plus = f(x)
        x[i] = old - EPS
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * EPS)
    return grad


def random_problem(seed, shape=(2, 3), V=5):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(*shape, V))
    targets = rng.integers(0, V, size=shape)
    mask = rng.integers(0, 2, size=shape)
    mask.flat[0] = 1  # at least one position is predicted
    return logits, targets, mask


# ----------------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("use_mask", [False, True])
def test_cross_entropy_grad_matches_finite_differences(reduction, use_mask):
    logits, targets, mask = random_problem(seed=1)
    mask = mask if use_mask else None

    def loss(z):  # for "none" the gradient is that of the summed per-token losses
        return float(np.sum(cross_entropy(z, targets, mask, reduction=reduction)))

    analytic = cross_entropy_grad(logits, targets, mask, reduction=reduction)
    assert analytic.shape == logits.shape
    np.testing.assert_allclose(analytic, numerical_grad(loss, logits), rtol=1e-5, atol=1e-8)
    if use_mask:
        assert np.all(analytic[mask == 0] == 0)


def test_softmax_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(3, 4))
    dprobs = rng.normal(size=(3, 4))  # L = sum(dprobs * softmax(logits)) has dL/dp = dprobs

    def loss(z):
        return float(np.sum(dprobs * softmax(z)))

    analytic = softmax_backward(softmax(logits), dprobs)
    np.testing.assert_allclose(analytic, numerical_grad(loss, logits), rtol=1e-5, atol=1e-9)


def test_softmax_backward_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"dprobs has shape \(2, 4\), expected \(2, 3\)"):
        softmax_backward(np.ones((2, 3)) / 3, np.ones((2, 4)))


def test_cross_entropy_grad_in_float32_keeps_dtype():
    logits, targets, mask = random_problem(seed=3)
    grad = cross_entropy_grad(logits.astype(np.float32), targets, mask)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, cross_entropy_grad(logits, targets, mask), atol=1e-6)


# ----------------------------------------------------------------------- properties

small_problems = st.tuples(
    st.integers(1, 3),  # batch
    st.integers(1, 5),  # time
    st.integers(2, 7),  # vocabulary
    st.integers(0, 2**32 - 1),  # seed
)


def make_problem(sizes, scale=3.0):
    B, T, V, seed = sizes
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(B, T, V))
    targets = rng.integers(0, V, size=(B, T))
    mask = rng.integers(0, 2, size=(B, T))
    mask[0, 0] = 1
    return logits, targets, mask


@settings(max_examples=40, deadline=None)
@given(sizes=small_problems, shift=st.floats(-1e3, 1e3))
def test_adding_a_constant_to_the_logits_changes_no_loss(sizes, shift):
    logits, targets, mask = make_problem(sizes)
    for reduction in ("none", "sum", "mean"):
        np.testing.assert_allclose(
            cross_entropy(logits + shift, targets, mask, reduction=reduction),
            cross_entropy(logits, targets, mask, reduction=reduction),
            rtol=1e-9, atol=1e-9,
        )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(sizes=small_problems)
def test_masked_token_losses_sum_and_mean(sizes):
    logits, targets, mask = make_problem(sizes)
    per_token = cross_entropy(logits, targets, reduction="none")
    total = cross_entropy(logits, targets, mask, reduction="sum")
    np.testing.assert_allclose(np.sum(per_token * mask), total, rtol=1e-12)
    np.testing.assert_allclose(
        cross_entropy(logits, targets, mask, reduction="none"), per_token * mask, rtol=1e-12
    )
    mean = cross_entropy(logits, targets, mask, reduction="mean")
    np.testing.assert_allclose(mean, total / mask.sum(), rtol=1e-12)
    bool_mean = cross_entropy(logits, targets, mask.astype(bool))
    np.testing.assert_allclose(bool_mean, mean, rtol=1e-12)
    # sum and mean differ by a constant factor, so their gradients point the same way and they
    # have the same minimiser
    np.testing.assert_allclose(
        cross_entropy_grad(logits, targets, mask, reduction="mean") * mask.sum(),
        cross_entropy_grad(logits, targets, mask, reduction="sum"),
        rtol=1e-12, atol=1e-15,
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(sizes=small_problems)
def test_softmax_rows_sum_to_one_and_match_log_softmax(sizes):
    logits, _, _ = make_problem(sizes, scale=30.0)
    probs = softmax(logits)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(logits)), probs, rtol=1e-12)
    np.testing.assert_allclose(softmax(logits, axis=0).sum(axis=0), 1.0, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(sizes=small_problems)
def test_cross_entropy_with_one_hot_gold_is_minus_log_p_gold(sizes):
    logits, targets, _ = make_problem(sizes)
    V = logits.shape[-1]
    gold = one_hot(targets, V)
    assert gold.shape == logits.shape and np.all(gold.sum(axis=-1) == 1)
    by_definition = -np.sum(gold * log_softmax(logits), axis=-1)
    minus_log_p = -np.log(np.take_along_axis(softmax(logits), targets[..., None], -1)[..., 0])
    np.testing.assert_allclose(token_losses(logits, targets), by_definition, rtol=1e-10)
    np.testing.assert_allclose(by_definition, minus_log_p, rtol=1e-8)
    np.testing.assert_allclose(cross_entropy(logits, targets), by_definition.mean(), rtol=1e-10)
    np.testing.assert_allclose(
        cross_entropy_grad(logits, targets, reduction="sum"), softmax(logits) - gold, atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(sizes=small_problems, dtype=st.sampled_from([np.float32, np.float64]))
def test_extreme_and_minus_inf_logits_give_finite_losses(sizes, dtype):
    B, T, V, seed = sizes
    rng = np.random.default_rng(seed)
    logits = rng.choice([-1e4, 1e4, 0.0, -np.inf], size=(B, T, V)).astype(dtype)
    targets = rng.integers(0, V, size=(B, T))
    np.put_along_axis(logits, targets[..., None], rng.choice([-1e4, 1e4, 0.0]), axis=-1)
    mask = np.ones((B, T))
    for reduction in ("none", "sum", "mean"):
        loss = cross_entropy(logits, targets, mask, reduction=reduction)
        assert np.all(np.isfinite(loss)) and np.all(loss >= 0)
    grad = cross_entropy_grad(logits, targets, mask)
    assert np.all(np.isfinite(grad))
    assert np.all(np.isfinite(softmax(logits)))


def test_large_logits_do_not_overflow():
    logits = np.array([1e4, 1e4 - np.log(3.0)])
    np.testing.assert_allclose(softmax(logits), [0.75, 0.25])
    np.testing.assert_allclose(cross_entropy(logits[None], [1]), np.log(4.0))


def test_minus_inf_logits_get_probability_zero():
    logits = np.array([0.0, -np.inf, 0.0])
    np.testing.assert_array_equal(softmax(logits), [0.5, 0.0, 0.5])
    assert np.isneginf(log_softmax(logits)[1])


# ----------------------------------------------------------------------- errors


def test_all_zero_mask_makes_the_mean_undefined():
    logits, targets, _ = random_problem(seed=4)
    zero = np.zeros(targets.shape)
    with pytest.raises(ValueError, match="mask selects no tokens"):
        cross_entropy(logits, targets, zero)
    with pytest.raises(ValueError, match="mask selects no tokens"):
        cross_entropy_grad(logits, targets, zero)
    assert cross_entropy(logits, targets, zero, reduction="sum") == 0.0


@pytest.mark.parametrize("bad", [-1, 5])
def test_out_of_range_targets_raise(bad):
    logits, targets, _ = random_problem(seed=5)
    targets[0, 0] = bad
    for fn in (cross_entropy, cross_entropy_grad, token_losses):
        with pytest.raises(ValueError, match=r"target ids must lie in \[0, 5\)"):
            fn(logits, targets)
    with pytest.raises(ValueError, match="target ids"):
        one_hot(targets, 5)


def test_shape_mismatches_raise():
    logits, targets, mask = random_problem(seed=6)  # logits (2, 3, 5)
    with pytest.raises(ValueError, match="target array has shape"):
        cross_entropy(logits, targets[:, :2])
    with pytest.raises(ValueError, match="target array has shape"):
        cross_entropy_grad(logits, targets.T)
    with pytest.raises(ValueError, match="mask has shape"):
        cross_entropy(logits, targets, mask[:1])
    with pytest.raises(ValueError, match="mask has shape"):
        cross_entropy_grad(logits, targets, mask.T)


def test_other_bad_inputs_raise():
    logits, targets, mask = random_problem(seed=7)
    with pytest.raises(TypeError, match="integer token ids"):
        cross_entropy(logits, targets.astype(float))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(logits, targets, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy_grad(logits, targets, reduction="avg")
    with pytest.raises(ValueError, match="all -inf|every logit"):
        softmax(np.full(3, -np.inf))
    with pytest.raises(ValueError, match="NaN"):
        log_softmax(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="0/1"):
        cross_entropy(logits, targets, mask * 0.5)


# ----------------------------------------------------------------------- sequences and datasets


@pytest.fixture(scope="module")
def bigram():
    rng = np.random.default_rng(8)
    return NGramModel(vocab_size=6, n=2, smoothing=0.5).fit([rng.integers(0, 6, 40)])


def test_sequence_loss_is_the_sum_of_its_token_losses(bigram):
    ids = np.array([0, 3, 3, 1, 5, 2])
    by_hand = -sum(np.log(bigram.next_token_probs(ids[:t])[ids[t]]) for t in range(1, len(ids)))
    np.testing.assert_allclose(sequence_loss(bigram, ids), by_hand, rtol=1e-12)
    assert isinstance(sequence_loss(bigram, ids), float)


def test_dataset_loss_is_the_sum_over_sequences(bigram):
    sequences = [np.array([0, 1, 2]), np.array([5, 4, 3, 2, 1]), [2, 2]]
    total = sum(sequence_loss(bigram, np.asarray(s)) for s in sequences)
    np.testing.assert_allclose(dataset_loss(bigram, sequences), total, rtol=1e-12)
    with pytest.raises(ValueError, match="empty"):
        dataset_loss(bigram, [])
    with pytest.raises(ValueError, match="at least 2"):
        sequence_loss(bigram, [3])


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    V = 7
    uniform = NGramModel(vocab_size=V, n=1, smoothing=1.0).fit([list(range(V))])
    ids = np.array([1, 6, 0, 3, 3])
    mean_loss = sequence_loss(uniform, ids) / (len(ids) - 1)
    np.testing.assert_allclose(mean_loss, np.log(V))
    np.testing.assert_allclose(perplexity(mean_loss), V)
    np.testing.assert_allclose(perplexity(cross_entropy(np.zeros((4, V)), [0, 1, 2, 3])), V)
