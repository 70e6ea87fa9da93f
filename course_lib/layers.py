"""The transformer's building blocks, each a pair of numpy functions: forward and backward.

Every `*_forward` function returns `(output, cache)`; the matching `*_backward` takes the gradient
of the loss with respect to that output plus the cache, and returns the gradients with respect to
the inputs and parameters. This is the textbook way to write backpropagation by hand: the model in
`course_lib.transformer` just chains these pairs.

Shapes: `N` rows of features (a batch of B sequences of T tokens flattened to N = B*T rows),
`C` features, `H` attention heads of size `d = C // H`.

The functions work in whatever float dtype they are given (float32 for speed, float64 for
gradient checks), never loop over positions or heads, and make each pass over a large array
count: results are built in place, and views replace copies (the heads of the (N, 3C) q/k/v
rows are strided views, and attention writes its output straight into (N, C) rows).
"""

from __future__ import annotations

import math

import numpy as np

from .rows import for_row_blocks

GELU_COEF = 0.044715
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
LARGEST_SHIFTED_SUM = 2.0**64  # attention_forward: a softmax row sum beyond it is redone
FEW_QUERIES = 8  # attention_forward: up to this many queries read the keys without a copy


# ----------------------------------------------------------------------------- embedding


def embedding_forward(ids: np.ndarray, wte: np.ndarray, wpe: np.ndarray, start: int = 0):
    """Token plus position embeddings: ids (B, T) -> x (B, T, C).

    Token t of each row sits at position `start + t` (start > 0 when decoding with a cache).

    >>> x, _ = embedding_forward(np.array([[0, 2]]), np.eye(3), np.zeros((4, 3)))
    >>> x.tolist()
    [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    T = ids.shape[1]
    x = wte[ids]                  # (B, T, C) gathered rows: a new array
    x += wpe[start : start + T]   # (B, T, C) += (T, C)
    return x, (ids, wte.shape, wpe.shape, start)


def embedding_backward(dx: np.ndarray, cache):
    """Gradients of the embedding tables: dx (B, T, C) -> (dwte (V, C), dwpe (block_size, C))."""
    ids, wte_shape, wpe_shape, start = cache
    C = dx.shape[-1]
    # a token used twice collects both gradients: sort the rows by token, sum each token's run
    order = np.argsort(ids.ravel(), kind="stable")                    # (N,)
    tokens = ids.ravel()[order]                                       # (N,) sorted
    runs = np.flatnonzero(np.r_[True, tokens[1:] != tokens[:-1]])     # where each token starts
    dwte = np.zeros(wte_shape, dtype=dx.dtype)                        # (V, C)
    dwte[tokens[runs]] = np.add.reduceat(dx.reshape(-1, C)[order], runs, axis=0)  # (n_used, C)
    dwpe = np.zeros(wpe_shape, dtype=dx.dtype)                        # (block_size, C)
    dwpe[start : start + ids.shape[1]] = dx.sum(axis=0)               # (T, C)
    return dwte, dwpe


# ----------------------------------------------------------------------------- linear


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """Affine map: x (N, C_in) @ w (C_in, C_out) + b (C_out,) -> (N, C_out).

    >>> y, _ = linear_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    >>> y.shape
    (2, 4)
    """
    y = x @ w  # (N, C_out)
    y += b     # in place: no second (N, C_out) temporary
    return y, (x, w)


def linear_backward(dy: np.ndarray, cache):
    """dy (N, C_out) -> (dx (N, C_in), dw (C_in, C_out), db (C_out,))."""
    x, w = cache
    return dy @ w.T, x.T @ dy, column_sums(dy)  # (N, C_in), (C_in, C_out), (C_out,)


def column_sums(a: np.ndarray) -> np.ndarray:
    """a (N, C) -> (C,), the sum of the rows: a bias's gradient. Written as ones (N,) @ a, a
    matrix-vector product that BLAS runs several times faster than a.sum(axis=0).

    >>> column_sums(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [4.0, 6.0]
    """
    return np.ones(a.shape[0], dtype=a.dtype) @ a


def row_sums(a: np.ndarray) -> np.ndarray:
    """a (N, C) -> (N, 1), each row's sum, as the matrix-vector product a @ ones (C,).

    >>> row_sums(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0], [7.0]]
    """
    return (a @ np.ones(a.shape[1], dtype=a.dtype))[:, None]


# ----------------------------------------------------------------------------- layer norm


def normalize_forward(x: np.ndarray, eps: float = 1e-5):
    """Normalise each row of x (N, C) to mean 0 and variance 1: x -> xhat (N, C).

    >>> xhat, _ = normalize_forward(np.array([[1.0, 3.0]]))
    >>> np.round(xhat, 3).tolist()
    [[-1.0, 1.0]]
    """
    N, C = x.shape
    xhat = np.empty_like(x)                                        # (N, C)
    rstd = np.empty((N, 1), dtype=x.dtype)                         # (N, 1)

    def rows(x, xhat, rstd):
        np.subtract(x, row_sums(x) / C, out=xhat)                  # centred
        var = np.einsum("nc,nc->n", xhat, xhat)[:, None] / C       # (n, 1)
        np.divide(1.0, np.sqrt(var + eps), out=rstd)
        xhat *= rstd                                               # normalised

    for_row_blocks(rows, x, xhat, rstd)
    return xhat, (xhat, rstd)


def normalize_backward(dxhat: np.ndarray, cache) -> np.ndarray:
    """dxhat (N, C) -> dx (N, C): rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))."""
    xhat, rstd = cache
    C = xhat.shape[-1]
    dx = np.empty_like(dxhat)                                      # (N, C)

    def rows(dxhat, xhat, rstd, dx):
        row_mean = row_sums(dxhat) / C                             # (n, 1)
        row_dot = np.einsum("nc,nc->n", dxhat, xhat)[:, None] / C  # (n, 1)
        np.multiply(xhat, row_dot, out=dx)
        np.subtract(dxhat, dx, out=dx)
        dx -= row_mean
        dx *= rstd

    for_row_blocks(rows, dxhat, xhat, rstd, dx)
    return dx


def layernorm_forward(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float = 1e-5):
    """Layer norm: normalise each row of x (N, C), then scale by g (C,) and shift by b (C,).

    >>> y, _ = layernorm_forward(np.array([[1.0, 3.0]]), np.ones(2), 10 * np.ones(2))
    >>> np.round(y, 3).tolist()
    [[9.0, 11.0]]
    """
    xhat, cache = normalize_forward(x, eps)                        # (N, C)
    y = xhat * g                                                   # (N, C)
    y += b
    return y, (cache, g)


def layernorm_backward(dy: np.ndarray, cache):
    """dy (N, C) -> (dx (N, C), dg (C,), db (C,))."""
    norm_cache, g = cache
    dx = normalize_backward(dy * g, norm_cache)                    # (N, C)
    return dx, np.einsum("nc,nc->c", dy, norm_cache[0]), column_sums(dy)  # (N, C), (C,), (C,)


def affine_forward(xhat, g, b, w, c):
    """A layer norm's scale g and shift b (C,), for the linear layer w (C, C_out), c that reads
    its output: -> (h, w', c') with h @ w' + c' = (xhat * g + b) @ w + c, and a cache.

    With more rows N than C_out, g and b are folded into the weights, h = xhat, w' = g w (row i
    times g_i), c' = b @ w + c: a pass over the small (C, C_out) weights replaces two over the
    (N, C) rows. With few rows (decoding one token) h = xhat * g + b and w, c stay as they are.

    >>> h, w2, c2, _ = affine_forward(np.ones((2, 1)), np.array([2.0]), np.array([1.0]),
    ...                               np.array([[3.0]]), np.array([0.5]))
    >>> (h @ w2 + c2).tolist()             # (1 * 2 + 1) * 3 + 0.5
    [[9.5], [9.5]]
    """
    fold = xhat.shape[0] > w.shape[1]
    if fold:
        return xhat, g[:, None] * w, b @ w + c, (fold, xhat, g, b, w)  # (C, C_out), (C_out,)
    h = xhat * g                                                   # (N, C)
    h += b
    return h, w, c, (fold, xhat, g, b, w)


def affine_backward(dh, dw, dc, cache):
    """Gradients of h, w' and c' (affine_forward) -> (dxhat (N, C), dg, db, dw, dc)."""
    fold, xhat, g, b, w = cache
    if not fold:
        return dh * g, np.einsum("nc,nc->c", dh, xhat), column_sums(dh), dw, dc
    dg = np.einsum("ij,ij->i", dw, w)                              # (C,)
    dw_unfolded = g[:, None] * dw                                  # (C, C_out)
    dw_unfolded += np.outer(b, dc)
    return dh, dg, w @ dc, dw_unfolded, dc


# ----------------------------------------------------------------------------- GELU


def gelu_forward(x: np.ndarray):
    """GELU activation, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Written as y = x * s with s = 0.5 (1 + tanh(...)). While x^2, s and y are at hand, block by
    block, the forward pass also computes the derivative dy/dx: that is the cache, and the
    backward pass is one multiply.

    >>> y, _ = gelu_forward(np.array([-3.0, 0.0, 3.0]))
    >>> np.round(y, 3).tolist()
    [-0.004, 0.0, 2.996]
    """
    y, dydx = np.empty_like(x), np.empty_like(x)   # (N, 4C) each: the largest activations

    def rows(x, y, dydx):  # a block of rows; x2 and s are block-sized temporaries
        x2 = x * x
        s = x2 * (GELU_COEF * SQRT_2_OVER_PI)
        s += SQRT_2_OVER_PI
        s *= x                                     # z = sqrt(2/pi) (x + 0.044715 x^3)
        np.tanh(s, out=s)
        s *= 0.5
        s += 0.5                                   # s = 0.5 (1 + tanh(z))
        np.multiply(x, s, out=y)
        # dy/dx = s + x ds/dz dz/dx, and ds/dz = 2 s (1 - s) with x (1 - s) = x - y, so
        # dy/dx = s (1 + (x - y) (2 sqrt(2/pi) + 6 * 0.044715 sqrt(2/pi) x^2))
        x2 *= 6.0 * GELU_COEF * SQRT_2_OVER_PI
        x2 += 2.0 * SQRT_2_OVER_PI
        np.subtract(x, y, out=dydx)
        dydx *= x2
        dydx += 1.0
        dydx *= s

    for_row_blocks(rows, x, y, dydx)
    return y, dydx


def gelu_backward(dy: np.ndarray, cache) -> np.ndarray:
    """dy (same shape as x) -> dx = dy * dy/dx, the derivative `gelu_forward` kept."""
    return dy * cache


# ----------------------------------------------------------------------------- MLP


def mlp_forward(x, w_fc, b_fc, w_proj, b_proj):
    """The block's feed-forward network: linear (C -> 4C), GELU, linear (4C -> C). x (N, C).

    >>> C = 2
    >>> y, _ = mlp_forward(np.ones((3, C)), np.ones((C, 4 * C)), np.zeros(4 * C),
    ...                    np.ones((4 * C, C)), np.zeros(C))
    >>> y.shape
    (3, 2)
    """
    h, fc_cache = linear_forward(x, w_fc, b_fc)          # (N, 4C)
    a, gelu_cache = gelu_forward(h)                      # (N, 4C)
    y, proj_cache = linear_forward(a, w_proj, b_proj)    # (N, C)
    return y, (fc_cache, gelu_cache, proj_cache)


def mlp_backward(dy, cache):
    """dy (N, C) -> (dx, dw_fc, db_fc, dw_proj, db_proj)."""
    fc_cache, gelu_cache, proj_cache = cache
    da, dw_proj, db_proj = linear_backward(dy, proj_cache)   # (N, 4C)
    dh = gelu_backward(da, gelu_cache)                       # (N, 4C)
    dx, dw_fc, db_fc = linear_backward(dh, fc_cache)         # (N, C)
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
    """(B*T, C) rows -> (B, H, T, d) heads: a strided view, no copy (also of a column slice)."""
    N, C = x.shape
    return x.reshape(batch_size, N // batch_size, n_head, C // n_head).transpose(0, 2, 1, 3)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray, out=None):
    """Scaled dot-product attention for all heads at once, under a causal mask.

    q (B, H, Tq, d), k and v (B, H, Tk, d) with Tk >= Tq, mask (Tq, Tk) additive (0 or -inf)
    -> y (B, H, Tq, d). The queries are the last Tq of the Tk positions (Tk > Tq when decoding
    with a cache), and the mask lets each one see at least its own key, at Tk - Tq + i.
    `out`, if given, is a (B, H, Tq, d) array (or view) to write y into.

    The softmax shifts each row by the query's score with its own key (always visible), not by
    the row maximum, which costs a slow pass over the scores: each row's sum is then at least
    exp(0) = 1. Where another key outscores the own one so far that a row's sum passes 2^64
    (the products with v could overflow), the rows are done again with the row maximum.
    The cache keeps the unnormalised exponentials and the rows' 1 / sum: the output y is
    scaled, not the larger (Tq, Tk) probabilities.

    >>> q = k = v = np.ones((1, 1, 2, 4))
    >>> y, _ = attention_forward(q, k, v, causal_mask(2, np.float64))
    >>> y.shape
    (1, 1, 2, 4)
    """
    (B, H, Tq, d), Tk = q.shape, k.shape[2]
    scale = 1.0 / math.sqrt(d)
    att = np.empty((B, H, Tq, Tk), dtype=q.dtype)                # (B, H, Tq, Tk)
    inv_sum = np.empty((B, H, Tq, 1), dtype=q.dtype)             # (B, H, Tq, 1)
    y = np.empty(q.shape, dtype=q.dtype) if out is None else out  # (B, H, Tq, d)

    def rows(q, k, v, att, inv_sum, y):  # a few sequences of the batch
        # BLAS reads a contiguous k^T several times faster than a transposed view, and the
        # copy applies the scale once per key instead of once per score; a few new queries
        # (decoding) read each key once, so they take the scale and the view instead
        if Tq > FEW_QUERIES:
            q_scaled, k_t = q, np.multiply(k.swapaxes(-1, -2), scale)   # (b, H, d, Tk) copy
        else:
            q_scaled, k_t = q * scale, k.swapaxes(-1, -2)               # (b, H, d, Tk) view

        def exp_scores(shift):  # att = exp(scores - shift(scores)) -> its row sums (b, H, Tq, 1)
            np.matmul(q_scaled, k_t, out=att)                    # scaled scores
            np.add(att, mask, out=att)
            np.subtract(att, shift(att), out=att)
            with np.errstate(over="ignore"):  # an overflow fails the check below
                np.exp(att, out=att)
            return np.einsum("bhqk->bhq", att)[..., None]

        total = exp_scores(lambda s: s.diagonal(Tk - Tq, -2, -1)[..., None].copy())  # own key's
        if not (total < LARGEST_SHIFTED_SUM).all():  # rare: a key far outscores the own key
            total = exp_scores(lambda s: s.max(axis=-1, keepdims=True))
        np.divide(1.0, total, out=inv_sum)
        np.matmul(att, v, out=y)
        y *= inv_sum                                             # (b, H, Tq, d) = softmax @ v

    for_row_blocks(rows, q, k, v, att, inv_sum, y)
    return y, (q, k, v, att, inv_sum, y, scale)


def attention_backward(dy: np.ndarray, cache, out=None):
    """dy (B, H, Tq, d) -> (dq, dk, dv) with the shapes of q, k, v.

    `out`, if given, is a triple of arrays (or views) to write dq, dk and dv into.
    """
    q, k, v, att, inv_sum, y, scale = cache
    dq, dk, dv = out if out is not None else (np.empty_like(q), np.empty_like(k), np.empty_like(v))

    def rows(dy, q, k, v, att, inv_sum, y, dq, dk, dv):  # a few sequences of the batch
        (b, H, Tq, d), Tk = dy.shape, v.shape[2]
        # with p = att * inv_sum (the probabilities), dv = p^T dy = att^T (inv_sum dy), and the
        # softmax backward ds_ij = p_ij (dp_ij - r_i) with r_i = dy_i . y_i and dp = dy v^T is
        # att_ij (inv_sum_i dy_i . v_j - inv_sum_i r_i): one product [inv_sum dy, -inv_sum r]
        # @ [scale v^T; 1] (the scale as in the forward pass)
        dy_r = np.empty((b, H, Tq, d + 1), dtype=dy.dtype)                  # (b, H, Tq, d+1)
        np.multiply(dy, inv_sum, out=dy_r[..., :d])
        r = np.einsum("bhtd,bhtd->bht", dy, y)[..., None]                   # (b, H, Tq, 1)
        np.multiply(r, inv_sum, out=dy_r[..., d:])
        dy_r[..., d:] *= -scale
        np.matmul(att.swapaxes(-1, -2), dy_r[..., :d], out=dv)
        v_t = np.empty((b, H, d + 1, Tk), dtype=dy.dtype)                   # (b, H, d+1, Tk)
        np.multiply(v.swapaxes(-1, -2), scale, out=v_t[..., :d, :])
        v_t[..., d, :] = 1
        datt = dy_r @ v_t                                # (b, H, Tq, Tk) scale (dp - r) / sum
        datt *= att                                              # scale * d(scaled scores)
        np.matmul(datt, k, out=dq)
        np.matmul(datt.swapaxes(-1, -2), q, out=dk)

    for_row_blocks(rows, dy, q, k, v, att, inv_sum, y, dq, dk, dv)
    return dq, dk, dv


def self_attention_forward(x, w_qkv, b_qkv, w_proj, b_proj, n_head: int, batch_size: int, mask,
                           kv=None):
    """Causal multi-head self-attention on x (B*T, C) -> (B*T, C).

    One linear map makes queries, keys and values (C -> 3C), the heads attend in parallel,
    and an output projection (C -> C) mixes them. `mask` is the additive (T, Tk) causal mask.

    kv: optional key/value cache of this layer for decoding, `(keys, values, start)` with keys and
    values (B, H, block_size, d) buffers holding `start` earlier tokens; the new keys and values
    are written after them and the queries attend to all start + T (then Tk = start + T).
    """
    N, C = x.shape
    qkv, qkv_cache = linear_forward(x, w_qkv, b_qkv)                           # (N, 3C)
    q, k, v = (split_heads(qkv[:, i * C : (i + 1) * C], batch_size, n_head)    # (B, H, T, d)
               for i in range(3))
    if kv is not None:
        keys, values, start = kv
        end = start + q.shape[2]
        keys[:, :, start:end], values[:, :, start:end] = k, v
        k, v = keys[:, :, :end], values[:, :, :end]                            # (B, H, Tk, d)
    y = np.empty((N, C), dtype=x.dtype)                                        # (N, C)
    _, att_cache = attention_forward(q, k, v, mask, out=split_heads(y, batch_size, n_head))
    out, proj_cache = linear_forward(y, w_proj, b_proj)                        # (N, C)
    return out, (qkv_cache, att_cache, proj_cache, n_head, batch_size)


def attention_probabilities(cache) -> np.ndarray:
    """The attention probabilities (B, H, Tq, Tk) kept in a self_attention_forward cache."""
    _qkv_cache, (_q, _k, _v, att, inv_sum, _y, _scale), *_ = cache
    return att * inv_sum


def self_attention_backward(dout, cache):
    """dout (B*T, C) -> (dx, dw_qkv, db_qkv, dw_proj, db_proj)."""
    qkv_cache, att_cache, proj_cache, n_head, batch_size = cache
    N, C = dout.shape
    dy, dw_proj, db_proj = linear_backward(dout, proj_cache)                   # (N, C)
    dqkv = np.empty((N, 3 * C), dtype=dout.dtype)                              # (N, 3C)
    heads = tuple(split_heads(dqkv[:, i * C : (i + 1) * C], batch_size, n_head)  # (B, H, T, d)
                  for i in range(3))
    attention_backward(split_heads(dy, batch_size, n_head), att_cache, out=heads)
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)                      # (N, C)
    return dx, dw_qkv, db_qkv, dw_proj, db_proj
