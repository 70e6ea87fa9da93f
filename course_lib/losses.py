"""Losses for next-token prediction: softmax, cross-entropy, and sequence and dataset losses.

The loss of one prediction is -log p(gold): the negative log-probability the model gave the token
that actually came next. The gold distribution is one-hot, so this IS the cross-entropy between
the gold distribution and the model's. A sequence's loss is the SUM of its token losses, and the
dataset's loss the sum over its sequences.

>>> logits = np.array([[2.0, 1.0, 0.1]])
>>> round(float(cross_entropy(logits, np.array([0]))), 4)
0.417
"""

from __future__ import annotations

import numpy as np

from .checks import check_shape, check_token_ids

REDUCTIONS = ("none", "sum", "mean")


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """log p = logits - logsumexp(logits), computed stably (the max is subtracted first).

    Entries of -inf (tokens masked out) get log-probability -inf; a slice that is all -inf has no
    distribution and raises ValueError.

    >>> np.round(np.exp(log_softmax(np.array([0.0, np.log(3.0)]))), 2)
    array([0.25, 0.75])
    """
    logits = _as_float(logits)
    shifted = logits - checked_max(logits, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Probabilities from logits along `axis`, stable for large logits.

    >>> softmax(np.array([1000.0, 1000.0]))
    array([0.5, 0.5])
    """
    return np.exp(log_softmax(logits, axis=axis))


def softmax_backward(probs: np.ndarray, dprobs: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. the logits, given p = softmax(logits) and dL/dp (both (..., V)).

    dL/dz_i = p_i * (dL/dp_i - sum_j p_j dL/dp_j)

    >>> softmax_backward(np.array([0.5, 0.5]), np.array([1.0, 0.0]))   # L = p_0
    array([ 0.25, -0.25])
    """
    probs = np.asarray(probs)
    dprobs = check_shape(np.asarray(dprobs), probs.shape, "dprobs", "the shape of probs")
    return probs * (dprobs - np.sum(probs * dprobs, axis=-1, keepdims=True))


def one_hot(ids, num_classes: int) -> np.ndarray:
    """The gold distribution: 1.0 at each id, 0.0 elsewhere. ids (...) -> (..., num_classes).

    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    ids = _check_targets(ids, num_classes)
    return (ids[..., None] == np.arange(num_classes)).astype(np.float64)


def token_losses(logits: np.ndarray, targets) -> np.ndarray:
    """-log p(target) at every position. logits (..., V), targets (...) -> losses (...).

    A target whose logit is -inf has probability 0, so its loss is inf.

    >>> np.round(token_losses(np.log(np.array([[0.5, 0.25, 0.25]])), np.array([1])), 4)  # log 4
    array([1.3863])
    """
    logits = np.asarray(logits)
    targets = _check_targets(targets, logits.shape[-1], expected_shape=logits.shape[:-1])
    log_probs = log_softmax(logits)
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def cross_entropy(logits: np.ndarray, targets, mask=None, reduction: str = "mean"):
    """Cross-entropy between the one-hot gold targets and softmax(logits).

    logits (..., V); targets (...) ints; mask (...) 0/1 (positions with 0 are left out).
    reduction: "none" -> (...) per-token losses (0 where masked), "sum" -> their sum,
    "mean" -> the sum divided by the number of unmasked positions.

    >>> logits = np.zeros((2, 4))                       # uniform over 4 tokens
    >>> round(float(cross_entropy(logits, [1, 3], reduction="sum")), 4)  # 2 * log 4
    2.7726
    """
    logits, targets, weights = checked_loss_inputs(logits, targets, mask, reduction)
    return reduce_token_losses(token_losses(logits, targets), weights, reduction)


def cross_entropy_grad(logits: np.ndarray, targets, mask=None, reduction: str = "mean"):
    """dL/dlogits for `cross_entropy` with the same arguments: p - onehot(target) at each
    position, times its weight (0 where masked; 1 / the number of unmasked positions for
    "mean"; 1 for "sum", and for "none", where each position's gradient is its own loss's).

    >>> cross_entropy_grad(np.zeros((1, 4)), np.array([2]))   # p = 1/4 everywhere, gold is 2
    array([[ 0.25,  0.25, -0.75,  0.25]])
    """
    logits, targets, weights = checked_loss_inputs(logits, targets, mask, reduction)
    gold = one_hot(targets, logits.shape[-1]).astype(logits.dtype)          # (..., V)
    weight = loss_weights(weights, targets.shape, reduction).astype(logits.dtype)  # (...)
    return (softmax(logits) - gold) * weight[..., None]                     # (..., V)


def checked_loss_inputs(logits, targets, mask, reduction: str):
    """(logits as floats, targets as ints shaped like the logits without their last axis, the
    mask as float 0/1 weights or None), after checking each and the reduction's name."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    logits = _as_float(logits)
    targets = _check_targets(targets, logits.shape[-1], expected_shape=logits.shape[:-1])
    return logits, targets, _check_mask(mask, targets.shape)


def loss_weights(weights, shape: tuple, reduction: str) -> np.ndarray:
    """Each position's weight in the reduced loss, shape `shape`: its mask value (1 without a
    mask), divided by the number of unmasked positions for "mean"."""
    weight = np.ones(shape) if weights is None else weights
    return weight / predicted_count(weights, weight.size) if reduction == "mean" else weight


def reduce_token_losses(losses: np.ndarray, weights, reduction: str):
    """Per-token losses (...) -> the cross-entropy: masked positions set to 0, then kept
    ("none"), summed ("sum") or averaged over the unmasked positions ("mean")."""
    if weights is not None:
        losses = np.where(weights > 0, losses, 0.0).astype(losses.dtype)
    if reduction == "none":
        return losses
    return losses.sum() / (predicted_count(weights, losses.size) if reduction == "mean" else 1)


def sequence_loss(model, ids) -> float:
    """Loss of one sequence: sum over t >= 1 of -log p(x_t | x_<t). ids (T,), T >= 2.

    The first token has no prefix, so it is not predicted; a sequence of T tokens contributes
    T - 1 token losses. (A Transformer sees at most block_size tokens, so T <= block_size + 1.)

    >>> from course_lib.ngram import NGramModel
    >>> uniform = NGramModel(vocab_size=3, n=1).fit([[0, 1, 2]])   # p = 1/3 for every token
    >>> round(sequence_loss(uniform, [0, 1, 2]), 4)                  # 2 * log 3
    2.1972
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"a sequence needs at least 2 token ids in a 1-D array, got {ids.shape}")
    logits = model.logits(ids[None, :-1])[0]
    return float(cross_entropy(logits, ids[1:], reduction="sum"))


def dataset_loss(model, sequences) -> float:
    """Loss of a dataset: the sum of its sequences' losses (what pre-training minimises).

    >>> from course_lib.ngram import NGramModel
    >>> uniform = NGramModel(vocab_size=3, n=1).fit([[0, 1, 2]])
    >>> round(dataset_loss(uniform, [[0, 1], [2, 2, 0]]), 4)       # 3 token losses of log 3
    3.2958
    """
    sequences = list(sequences)
    if not sequences:
        raise ValueError("the dataset is empty: expected at least one sequence")
    return sum(sequence_loss(model, ids) for ids in sequences)


def perplexity(mean_token_loss: float) -> float:
    """exp(mean loss): the number of equally likely tokens the model is, on average, unsure among.

    >>> perplexity(np.log(4.0))
    4.0
    """
    return float(np.exp(mean_token_loss))


def _as_float(logits) -> np.ndarray:
    logits = np.asarray(logits)
    return logits if logits.dtype.kind == "f" else logits.astype(np.float64)


def checked_max(logits: np.ndarray, axis: int) -> np.ndarray:
    """The maximum along `axis` (kept), after checking every slice has a distribution.

    A NaN or +inf anywhere in a slice makes its maximum NaN or +inf, so checking the maxima
    checks every logit."""
    largest = np.max(logits, axis=axis, keepdims=True)
    if np.any(np.isneginf(largest)):
        raise ValueError("every logit of a row is -inf: there is no distribution to normalise")
    if not np.all(np.isfinite(largest)):
        raise ValueError("logits contain NaN or +inf; expected finite numbers (or -inf to mask)")
    return largest


def _check_targets(targets, vocab_size: int, expected_shape=None) -> np.ndarray:
    targets = check_token_ids(targets, vocab_size, "target ids", ndim=None, allow_empty=True)
    if expected_shape is not None:
        why = "the logits' shape without the last axis"
        check_shape(targets, expected_shape, "the target array", why)
    return targets


def _check_mask(mask, shape):
    if mask is None:
        return None
    mask = check_shape(np.asarray(mask), shape, "mask", "the targets' shape")
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask values must be 0/1 (or bool): 1 = predicted, 0 = left out")
    return mask.astype(np.float64)


def predicted_count(weights, size: int) -> int:
    """How many of `size` positions a mask (or weights) predicts: all without one; ValueError
    if none, when the mean loss is undefined."""
    count = size if weights is None else int(np.count_nonzero(weights))
    if count == 0:
        raise ValueError("the mask selects no tokens, so the mean loss is undefined")
    return count
