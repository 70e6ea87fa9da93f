"""The transformer's building blocks, each a pair of numpy functions: forward and backward.

Every `*_forward` function returns `(output, cache)`; the matching `*_backward` takes the gradient
of the loss with respect to that output plus the cache, and returns the gradients with respect to
the inputs and parameters. This is the textbook way to write backpropagation by hand: the model in
`course_lib.transformer` just chains these pairs.

Shapes: `N` rows of features (a batch of B sequences of T tokens flattened to N = B*T rows),
`C` features, `H` attention heads of size `d = C // H`.

The functions work in whatever float dtype they are given (float32 for speed, float64 for
gradient checks) and never loop over positions or heads.
"""

from __future__ import annotations

import math

import numpy as np

GELU_COEF = 0.044715
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# ----------------------------------------------------------------------------- token ids


def check_token_ids(ids, vocab_size: int) -> np.ndarray:
    """Validate token ids and return them as an integer array of shape (T,) or (B, T).

    Raises TypeError for a non-integer dtype and ValueError for a wrong number of dimensions,
    an empty sequence or an id outside [0, vocab_size).

    >>> check_token_ids([[1, 2, 3]], vocab_size=5).shape
    (1, 3)
    """
    arr = np.asarray(ids)
    if arr.size == 0:  # checked first: an empty list has no integer dtype
        raise ValueError(f"token ids must hold at least one token, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"token ids must be integers, got an array of dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"token ids must have shape (T,) or (B, T), got {arr.ndim} dimensions {arr.shape}"
        )
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"token id {bad} is out of range: ids must lie in [0, {vocab_size})")
    return arr


# ----------------------------------------------------------------------------- embedding


def embedding_forward(ids: np.ndarray, wte: np.ndarray, wpe: np.ndarray, start: int = 0):
    """Token plus position embeddings: ids (B, T) -> x (B, T, C).

    Token t of each row sits at position `start + t` (start > 0 when decoding with a cache).

    >>> x, _ = embedding_forward(np.array([[0, 2]]), np.eye(3), np.zeros((4, 3)))
    >>> x.tolist()
    [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    T = ids.shape[1]
    x = wte[ids] + wpe[start : start + T]
    return x, (ids, wte.shape, wpe.shape, start)


def embedding_backward(dx: np.ndarray, cache):
    """Gradients of the embedding tables: dx (B, T, C) -> (dwte (V, C), dwpe (block_size, C))."""
    ids, wte_shape, wpe_shape, start = cache
    C = dx.shape[-1]
    dwte = np.zeros(wte_shape, dtype=dx.dtype)
    np.add.at(dwte, ids.ravel(), dx.reshape(-1, C))  # a token used twice collects both gradients
    dwpe = np.zeros(wpe_shape, dtype=dx.dtype)
    dwpe[start : start + ids.shape[1]] = dx.sum(axis=0)
    return dwte, dwpe


# ----------------------------------------------------------------------------- linear


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """Affine map: x (N, C_in) @ w (C_in, C_out) + b (C_out,) -> (N, C_out).

    >>> y, _ = linear_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    >>> y.shape
    (2, 4)
    """
    y = x @ w
    y += b  # in place: no second (N, C_out) temporary
    return y, (x, w)


def linear_backward(dy: np.ndarray, cache):
    """dy (N, C_out) -> (dx (N, C_in), dw (C_in, C_out), db (C_out,))."""
    x, w = cache
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


# ----------------------------------------------------------------------------- layer norm


def layernorm_forward(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5):
    """Normalise each row of x (N, C) to mean 0 and variance 1, then scale by g and shift by b.

    >>> y, _ = layernorm_forward(np.array([[1.0, 3.0]]), np.ones(2), np.zeros(2))
    >>> np.round(y, 3).tolist()
    [[-1.0, 1.0]]
    """
    xhat = x - x.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(np.einsum("nc,nc->n", xhat, xhat)[:, None] / x.shape[-1] + eps)
    xhat *= rstd
    y = xhat * g
    y += b
    return y, (xhat, rstd, g)


def layernorm_backward(dy: np.ndarray, cache):
    """dy (N, C) -> (dx (N, C), dg (C,), db (C,))."""
    xhat, rstd, g = cache
    C = xhat.shape[-1]
    dxhat = dy * g
    dx = dxhat - dxhat.mean(axis=-1, keepdims=True)
    dx -= xhat * (np.einsum("nc,nc->n", dxhat, xhat)[:, None] / C)
    dx *= rstd
    return dx, np.einsum("nc,nc->c", dy, xhat), dy.sum(axis=0)


# ----------------------------------------------------------------------------- GELU


def gelu_forward(x: np.ndarray):
    """GELU activation, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    >>> y, _ = gelu_forward(np.array([-3.0, 0.0, 3.0]))
    >>> np.round(y, 3).tolist()
    [-0.004, 0.0, 2.996]
    """
    # In-place steps avoid large temporaries (this runs on the biggest activation, (N, 4C)).
    t = x * x
    t *= GELU_COEF
    t += 1.0
    t *= x
    t *= SQRT_2_OVER_PI  # t = sqrt(2/pi) (x + 0.044715 x^3)
    np.tanh(t, out=t)
    y = t + 1.0
    y *= x
    y *= 0.5
    return y, (x, t)


def gelu_backward(dy: np.ndarray, cache) -> np.ndarray:
    """dy (same shape as x) -> dx."""
    x, t = cache
    # dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), built in place
    dx = x * x
    dx *= 3.0 * GELU_COEF
    dx += 1.0
    dx *= SQRT_2_OVER_PI
    dx *= x
    one_minus_t2 = t * t
    np.subtract(1.0, one_minus_t2, out=one_minus_t2)
    dx *= one_minus_t2
    dx += t
    dx += 1.0
    dx *= 0.5
    dx *= dy
    return dx


# ----------------------------------------------------------------------------- MLP


def mlp_forward(x, w_fc, b_fc, w_proj, b_proj):
    """The block's feed-forward network: linear (C -> 4C), GELU, linear (4C -> C). x (N, C).

    >>> C = 2
    >>> y, _ = mlp_forward(np.ones((3, C)), np.ones((C, 4 * C)), np.zeros(4 * C),
    ...                    np.ones((4 * C, C)), np.zeros(C))
    >>> y.shape
    (3, 2)
    """
    h, fc_cache = linear_forward(x, w_fc, b_fc)
    a, gelu_cache = gelu_forward(h)
    y, proj_cache = linear_forward(a, w_proj, b_proj)
    return y, (fc_cache, gelu_cache, proj_cache)


def mlp_backward(dy, cache):
    """dy (N, C) -> (dx, dw_fc, db_fc, dw_proj, db_proj)."""
    fc_cache, gelu_cache, proj_cache = cache
    da, dw_proj, db_proj = linear_backward(dy, proj_cache)
    dh = gelu_backward(da, gelu_cache)
    dx, dw_fc, db_fc = linear_backward(dh, fc_cache)
    return dx, dw_fc, db_fc, dw_proj, db_proj


# ----------------------------------------------------------------------------- attention


def causal_mask(size: int, dtype=np.float32) -> np.ndarray:
    """Additive causal mask (size, size): 0 where query i may look at key j (j <= i), else -inf.

    >>> causal_mask(3).tolist()
    [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """
    future = np.triu(np.ones((size, size), dtype=bool), k=1)
    return np.where(future, -np.inf, 0.0).astype(dtype)


def split_heads(x: np.ndarray, batch_size: int, n_head: int) -> np.ndarray:
    """(B*T, C) rows -> (B, H, T, d) heads (a view, no copy)."""
    N, C = x.shape
    return x.reshape(batch_size, N // batch_size, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(y: np.ndarray) -> np.ndarray:
    """(B, H, T, d) heads -> (B*T, H*d) rows (the inverse of split_heads)."""
    B, H, T, d = y.shape
    return y.transpose(0, 2, 1, 3).reshape(B * T, H * d)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray):
    """Scaled dot-product attention for all heads at once.

    q (B, H, Tq, d), k and v (B, H, Tk, d), mask (Tq, Tk) additive (0 or -inf) -> y (B, H, Tq, d).
    Each query must be allowed to see at least one key. The softmax subtracts the row maximum,
    so it never overflows.

    >>> q = k = v = np.ones((1, 1, 2, 4))
    >>> y, _ = attention_forward(q, k, v, causal_mask(2, np.float64))
    >>> y.shape
    (1, 1, 2, 4)
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    att = q @ k.swapaxes(-1, -2)
    att *= scale
    att += mask
    att -= att.max(axis=-1, keepdims=True)
    np.exp(att, out=att)
    att /= att.sum(axis=-1, keepdims=True)
    y = att @ v
    return y, (q, k, v, att, y, scale)


def attention_backward(dy: np.ndarray, cache):
    """dy (B, H, Tq, d) -> (dq, dk, dv) with the shapes of q, k, v."""
    q, k, v, att, y, scale = cache
    dv = att.swapaxes(-1, -2) @ dy
    datt = dy @ v.swapaxes(-1, -2)
    # softmax backward: ds_ij = p_ij (dp_ij - sum_j' p_ij' dp_ij'), and that sum equals dy_i . y_i
    datt -= (dy * y).sum(axis=-1, keepdims=True)
    datt *= att
    datt *= scale
    return datt @ k, datt.swapaxes(-1, -2) @ q, dv


def self_attention_forward(x, w_qkv, b_qkv, w_proj, b_proj, n_head: int, batch_size: int, mask):
    """Causal multi-head self-attention on x (B*T, C) -> (B*T, C).

    One linear map makes queries, keys and values (C -> 3C), the heads attend in parallel,
    and an output projection (C -> C) mixes them. `mask` is the additive (T, T) causal mask.
    """
    C = x.shape[1]
    qkv, qkv_cache = linear_forward(x, w_qkv, b_qkv)
    q, k, v = (split_heads(qkv[:, i * C : (i + 1) * C], batch_size, n_head) for i in range(3))
    y, att_cache = attention_forward(q, k, v, mask)
    out, proj_cache = linear_forward(merge_heads(y), w_proj, b_proj)
    return out, (qkv_cache, att_cache, proj_cache, n_head, batch_size)


def self_attention_backward(dout, cache):
    """dout (B*T, C) -> (dx, dw_qkv, db_qkv, dw_proj, db_proj)."""
    qkv_cache, att_cache, proj_cache, n_head, batch_size = cache
    dy, dw_proj, db_proj = linear_backward(dout, proj_cache)
    dq, dk, dv = attention_backward(split_heads(dy, batch_size, n_head), att_cache)
    dqkv = np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=1)
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)
    return dx, dw_qkv, db_qkv, dw_proj, db_proj
