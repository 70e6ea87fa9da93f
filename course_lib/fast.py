"""The model of `course_lib.transformer`, computed faster: the same functions for training.

Each public function here is the twin of a plain one (`TWINS`), with the same arguments and the
same results (tests/test_fast.py compares every twin with its plain function, in float64 to
~1e-10 and through whole training steps in float32); training (`course_lib.training`) uses
them. Read `transformer.py` to learn the model; read this file to see what numpy needs to run it
at the machine's speed. Each technique, with what it saved when it was measured side by side
(`scripts/bench_model.py`, 2 cores, the shipped shape: 4 layers, 128 features, batch 32 x 128):

1. GELU's and attention's element-wise steps run on blocks of rows that fit the CPU's cache
   (`_row_blocks`): all their passes over a block hit the cache (GELU x2.9 as fast, attention
   forward + backward x1.4; layer norm gained nothing, x0.8, and runs in one pass).
2. GELU's forward pass also computes dy/dx while x^2 and tanh are at hand: backward is one
   multiply, the cache one array instead of three (forward + backward x1.1-1.4 as fast).
3. Row sums and bias gradients are matrix-vector products (ones @ a), which BLAS runs several
   times faster than numpy's reductions (layer norm forward + backward x1.4 as fast).
4. A block's layer norms hand their scale and shift to the linear layer that reads them:
   (xhat g + b) @ w + c = xhat @ (g w) + (b @ w + c), a pass over the small weights instead of
   two over the rows; only when the rows outnumber the weights' columns, so that decoding one
   token does not fold the weights every time (0.82 -> 0.56 ms per decoded token).
5. Attention multiplies by a contiguous, pre-scaled copy of k^T: BLAS reads a transposed view
   several times slower (the shipped shape's step 312 -> 292 ms); up to FEW_QUERIES queries
   (decoding) take the scale themselves and read the view, since each key is read once (a
   cached token at context 256: x1.1 the time at 16, was x1.25). Heads are strided views of the
   (N, 3C) rows, never copies.
6. Attention's softmax shifts each row by the query's score with its own key (always visible)
   instead of the row maximum, a slow reduction over a short axis; the rare rows whose sum
   passes 2^64 are redone with the maximum. It keeps the unnormalised exponentials and scales
   the (Tq, d) output by 1 / sum instead of the (Tq, Tk) probabilities; the backward pass folds
   the softmax's row term into one matrix product ([dy, -r] @ [v^T; 1]).
7. The embedding gradient sums each token's rows after one sort (np.add.reduceat) instead of
   np.add.at, row by row (about 1 ms of a baby-GPT step).
8. The loss and its gradient come from one softmax (`cross_entropy_and_grad`).
9. `keep_freed_memory()` (called by `training.train_step`) asks glibc's malloc to keep the tens of
   megabytes a step frees: 25,000 page faults per step fewer, about a fifth of a step.
10. AdamW's update runs on cache-sized blocks too, its temporaries in one scratch block
   (course_lib.data_parallel's workers make it on their shares of the parameters).
"""

from __future__ import annotations

import ctypes
import functools
import math

import numpy as np

from . import losses
from .transformer import causal_mask, embedding_forward

# the plain function (or functions) each fast one computes: tests/test_fast.py checks each pair,
# and a graded exercise that forbids a plain function forbids its fast twin too
TWINS = {
    "embedding_backward": ("course_lib.transformer.embedding_backward",),
    "linear_forward": ("course_lib.transformer.linear_forward",),
    "linear_backward": ("course_lib.transformer.linear_backward",),
    "layernorm_forward": ("course_lib.transformer.layernorm_forward",),
    "layernorm_backward": ("course_lib.transformer.layernorm_backward",),
    "gelu_forward": ("course_lib.transformer.gelu_forward",),
    "gelu_backward": ("course_lib.transformer.gelu_backward",),
    "mlp_forward": ("course_lib.transformer.mlp_forward",),
    "mlp_backward": ("course_lib.transformer.mlp_backward",),
    "attention_forward": ("course_lib.transformer.attention_forward",),
    "attention_backward": ("course_lib.transformer.attention_backward",),
    "self_attention_forward": ("course_lib.transformer.self_attention_forward",),
    "self_attention_backward": ("course_lib.transformer.self_attention_backward",),
    "block_forward": ("course_lib.transformer.block_forward",),
    "block_backward": ("course_lib.transformer.block_backward",),
    "forward": ("course_lib.transformer.Transformer.forward",),
    "backward": ("course_lib.transformer.Transformer.backward",),
    "cross_entropy_and_grad": ("course_lib.losses.cross_entropy",
                               "course_lib.losses.cross_entropy_grad"),
    "adamw_update": ("course_lib.optim.adamw_update",),
    "loss_and_gradients": ("course_lib.transformer.Transformer.forward",
                           "course_lib.losses.cross_entropy",
                           "course_lib.losses.cross_entropy_grad",
                           "course_lib.transformer.Transformer.backward"),
}

BLOCK_ELEMENTS = 32 * 1024  # per array: 128 KiB of float32, so a few arrays fit in the L2 cache
GELU_COEF, SQRT_2_OVER_PI = 0.044715, math.sqrt(2.0 / math.pi)
LARGEST_SHIFTED_SUM = 2.0**64  # attention: a softmax row sum beyond it is redone
FEW_QUERIES = 8  # attention: up to this many queries (decoding) read the keys without a copy


@functools.cache
def keep_freed_memory(largest_reused: int = 32 << 20) -> bool:
    """Ask glibc's malloc to serve arrays up to `largest_reused` bytes from memory it keeps, and
    to keep freed memory; False where there is no glibc. A process-wide setting, made once: a
    training step calls it (training.train_step), never an import."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    return bool(mallopt(M_MMAP_THRESHOLD, largest_reused)) and bool(mallopt(M_TRIM_THRESHOLD,
                                                                           1 << 30))


def _row_blocks(kernel, *arrays) -> None:
    """kernel(*blocks) on consecutive blocks of rows (first axis) of `arrays`, about
    BLOCK_ELEMENTS elements of the first array each; the kernel writes into output blocks."""
    n_rows = arrays[0].shape[0]
    rows = max(1, BLOCK_ELEMENTS * n_rows // max(1, arrays[0].size))
    for start in range(0, n_rows, rows):
        kernel(*(a[start : start + rows] for a in arrays))


def _column_sums(a):
    """a (N, C) -> (C,) as ones (N,) @ a: BLAS runs it several times faster than a.sum(0)."""
    return np.ones(a.shape[0], dtype=a.dtype) @ a


def _rows(x):
    """x (..., C) -> (N, C), a view of a contiguous array."""
    return x.reshape(-1, x.shape[-1])


# ----------------------------------------------------------------------------- layers


def embedding_backward(dx, cache):
    """dx (B, T, C) -> (dwte, dwpe): each token's rows summed after one sort."""
    ids, wte_shape, wpe_shape, start = cache
    order = np.argsort(ids.ravel(), kind="stable")                    # (N,)
    tokens = ids.ravel()[order]                                       # (N,) sorted
    runs = np.flatnonzero(np.r_[True, tokens[1:] != tokens[:-1]])     # where each token starts
    dwte = np.zeros(wte_shape, dtype=dx.dtype)                        # (V, C)
    dwte[tokens[runs]] = np.add.reduceat(_rows(dx)[order], runs, axis=0)  # (n_used, C)
    dwpe = np.zeros(wpe_shape, dtype=dx.dtype)                        # (block_size, C)
    dwpe[start : start + ids.shape[1]] = dx.sum(axis=0)               # (T, C)
    return dwte, dwpe


def linear_forward(x, w, b):
    """x (..., C_in) @ w + b -> (..., C_out), the bias added in place."""
    y = x @ w      # (..., C_out)
    y += b         # in place: no second temporary
    return y, (x, w)


def linear_backward(dy, cache):
    """dy (..., C_out) -> (dx, dw, db), the bias gradient as a matrix-vector product."""
    x, w = cache
    dy_rows = _rows(dy)                                              # (N, C_out)
    return dy @ w.T, _rows(x).T @ dy_rows, _column_sums(dy_rows)


def _normalize_forward(x, eps):
    """x (N, C) -> xhat (N, C) of mean 0 and variance 1 per row, and its cache (xhat, rstd)."""
    C = x.shape[1]
    xhat = x - (x @ np.ones(C, dtype=x.dtype))[:, None] / C                    # (N, C) centred
    rstd = np.einsum("nc,nc->n", xhat, xhat)[:, None]                          # (N, 1)
    rstd /= C
    rstd += eps
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    xhat *= rstd
    return xhat, (xhat, rstd)


def _normalize_backward(dxhat, cache):
    """dxhat (N, C) -> dx (N, C) = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))."""
    xhat, rstd = cache
    C = xhat.shape[1]
    row_mean = (dxhat @ np.ones(C, dtype=dxhat.dtype))[:, None] / C             # (N, 1)
    row_dot = np.einsum("nc,nc->n", dxhat, xhat)[:, None] / C                 # (N, 1)
    dx = xhat * row_dot                                                        # (N, C)
    np.subtract(dxhat, dx, out=dx)
    dx -= row_mean
    dx *= rstd
    return dx


def layernorm_forward(x, g, b, eps: float = 1e-5):
    """x (..., C) -> xhat g + b, normalised in cache-sized blocks of rows."""
    xhat, cache = _normalize_forward(_rows(x), eps)                 # (N, C)
    y = xhat * g
    y += b
    return y.reshape(x.shape), (cache, g, x.shape)


def layernorm_backward(dy, cache):
    """dy (..., C) -> (dx, dg, db)."""
    norm_cache, g, shape = cache
    dy = _rows(dy)                                                   # (N, C)
    dx = _normalize_backward(dy * g, norm_cache)
    return dx.reshape(shape), np.einsum("nc,nc->c", dy, norm_cache[0]), _column_sums(dy)


def _affine_forward(xhat, g, b, w, c):
    """A layer norm's scale g and shift b for the linear layer w (C, C_out), c that reads it:
    (h, w', c') with h @ w' + c' = (xhat g + b) @ w + c, and a cache. With more rows than C_out,
    g and b are folded into the weights (h = xhat); else h = xhat g + b and w, c are kept."""
    fold = xhat.shape[0] > w.shape[1]
    if fold:
        return xhat, g[:, None] * w, b @ w + c, (fold, xhat, g, b, w)  # (C, C_out), (C_out,)
    h = xhat * g
    h += b
    return h, w, c, (fold, xhat, g, b, w)


def _affine_backward(dh, dw, dc, cache):
    """Gradients of h, w', c' (_affine_forward) -> (dxhat, dg, db, dw, dc)."""
    fold, xhat, g, b, w = cache
    if not fold:
        return dh * g, np.einsum("nc,nc->c", dh, xhat), _column_sums(dh), dw, dc
    dw_unfolded = g[:, None] * dw                                   # (C, C_out)
    dw_unfolded += np.outer(b, dc)
    return dh, np.einsum("ij,ij->i", dw, w), w @ dc, dw_unfolded, dc


def gelu_forward(x):
    """GELU (tanh approximation) y = x s, s = 0.5 (1 + tanh(z)); the cache is dy/dx, computed
    block by block while x^2 and s are at hand."""
    y, dydx = np.empty_like(x), np.empty_like(x)

    def kernel(x, y, dydx):
        x2 = x * x
        s = x2 * (GELU_COEF * SQRT_2_OVER_PI)
        s += SQRT_2_OVER_PI
        s *= x                                      # z = sqrt(2/pi) (x + 0.044715 x^3)
        np.tanh(s, out=s)
        s *= 0.5
        s += 0.5                                    # s = 0.5 (1 + tanh(z))
        np.multiply(x, s, out=y)
        # dy/dx = s + x ds/dz dz/dx with ds/dz = 2 s (1 - s) and x (1 - s) = x - y:
        # dy/dx = s (1 + (x - y) (2 sqrt(2/pi) + 6 * 0.044715 sqrt(2/pi) x^2))
        x2 *= 6.0 * GELU_COEF * SQRT_2_OVER_PI
        x2 += 2.0 * SQRT_2_OVER_PI
        np.subtract(x, y, out=dydx)
        dydx *= x2
        dydx += 1.0
        dydx *= s

    _row_blocks(kernel, _rows(x), _rows(y), _rows(dydx))
    return y, dydx


def gelu_backward(dy, cache):
    """dy -> dy * dy/dx, the derivative gelu_forward kept."""
    return dy * cache


def mlp_forward(x, w_fc, b_fc, w_proj, b_proj):
    """linear (C -> 4C), GELU, linear (4C -> C) on x (..., C), the GELU in blocks."""
    h, fc = linear_forward(x, w_fc, b_fc)               # (N, 4C)
    a, gelu = gelu_forward(h)                            # (N, 4C)
    y, proj = linear_forward(a, w_proj, b_proj)         # (N, C)
    return y, (fc, gelu, proj)


def mlp_backward(dy, cache):
    """dy (..., C) -> (dx, dw_fc, db_fc, dw_proj, db_proj)."""
    fc, gelu, proj = cache
    da, dw_proj, db_proj = linear_backward(dy, proj)     # (N, 4C)
    da *= gelu  # gelu_backward in place: da is this function's own (no new array to fill)
    dx, dw_fc, db_fc = linear_backward(da, fc)          # (N, C)
    return dx, dw_fc, db_fc, dw_proj, db_proj


# ----------------------------------------------------------------------------- attention


def _heads(rows, batch_size: int, n_head: int):
    """(B*T, C) rows -> (B, H, T, d) heads: a strided view (also of a column slice), no copy."""
    N, C = rows.shape
    return rows.reshape(batch_size, N // batch_size, n_head, C // n_head).transpose(0, 2, 1, 3)


def attention_forward(q, k, v, out=None):
    """Causal attention, q (B, H, Tq, d), k and v (B, H, Tk, d) -> y (B, H, Tq, d), written into
    `out` if given. Row shift by the query's own key, unnormalised exponentials (see above)."""
    (B, H, Tq, d), Tk = q.shape, k.shape[2]
    scale = 1.0 / math.sqrt(d)
    mask = np.where(causal_mask(Tq, Tk), 0.0, -np.inf).astype(q.dtype)   # (Tq, Tk) additive
    att = np.empty((B, H, Tq, Tk), dtype=q.dtype)
    inv_sum = np.empty((B, H, Tq, 1), dtype=q.dtype)
    y = np.empty(q.shape, dtype=q.dtype) if out is None else out

    def kernel(q, k, v, att, inv_sum, y):  # a few sequences of the batch
        if Tq > FEW_QUERIES:  # a contiguous, pre-scaled k^T: one copy read Tq times
            q_scaled, k_t = q, np.multiply(k.swapaxes(-1, -2), scale)      # (b, H, d, Tk)
        else:                 # decoding: the few queries take the scale, k^T stays a view
            q_scaled, k_t = q * scale, k.swapaxes(-1, -2)

        def exp_scores(shift):  # att = exp(scores - shift(scores)) -> row sums (b, H, Tq, 1)
            np.matmul(q_scaled, k_t, out=att)
            np.add(att, mask, out=att)
            np.subtract(att, shift(att), out=att)
            with np.errstate(over="ignore"):  # an overflow fails the check below
                np.exp(att, out=att)
            return np.einsum("bhqk->bhq", att)[..., None]

        total = exp_scores(lambda s: s.diagonal(Tk - Tq, -2, -1)[..., None].copy())  # own key
        if not (total < LARGEST_SHIFTED_SUM).all():  # rare: a key far outscores the own key
            total = exp_scores(lambda s: s.max(axis=-1, keepdims=True))
        np.divide(1.0, total, out=inv_sum)
        np.matmul(att, v, out=y)
        y *= inv_sum                                                     # softmax @ v

    _row_blocks(kernel, q, k, v, att, inv_sum, y)
    return y, (q, k, v, att, inv_sum, y, scale)


def attention_backward(dy, cache, out=None):
    """dy (B, H, Tq, d) -> (dq, dk, dv), written into the triple `out` if given."""
    q, k, v, att, inv_sum, y, scale = cache
    dq, dk, dv = out if out is not None else (np.empty_like(q), np.empty_like(k), np.empty_like(v))

    def kernel(dy, q, k, v, att, inv_sum, y, dq, dk, dv):
        (b, H, Tq, d), Tk = dy.shape, v.shape[2]
        # p = att * inv_sum; dv = p^T dy = att^T (inv_sum dy); the softmax backward
        # ds_ij = p_ij (dp_ij - r_i), r_i = dy_i . y_i, dp = dy v^T, is
        # att_ij (inv_sum_i dy_i . v_j - inv_sum_i r_i): one product [inv_sum dy, -inv_sum r]
        # @ [scale v^T; 1]
        dy_r = np.empty((b, H, Tq, d + 1), dtype=dy.dtype)
        np.multiply(dy, inv_sum, out=dy_r[..., :d])
        r = np.einsum("bhtd,bhtd->bht", dy, y)[..., None]
        np.multiply(r, inv_sum, out=dy_r[..., d:])
        dy_r[..., d:] *= -scale
        np.matmul(att.swapaxes(-1, -2), dy_r[..., :d], out=dv)
        v_t = np.empty((b, H, d + 1, Tk), dtype=dy.dtype)
        np.multiply(v.swapaxes(-1, -2), scale, out=v_t[..., :d, :])
        v_t[..., d, :] = 1
        datt = dy_r @ v_t                                   # scale (dp - r) / sum
        datt *= att                                         # d(scores)
        np.matmul(datt, k, out=dq)
        np.matmul(datt.swapaxes(-1, -2), q, out=dk)

    _row_blocks(kernel, dy, q, k, v, att, inv_sum, y, dq, dk, dv)
    return dq, dk, dv


def self_attention_forward(x, w_qkv, b_qkv, w_proj, b_proj, n_head: int, kv=None):
    """Causal multi-head self-attention, x (B, T, C) -> (B, T, C); kv as in transformer.py.
    The heads are views of the q/k/v rows and attention writes straight into (N, C) rows."""
    B, T, C = x.shape
    qkv, qkv_cache = linear_forward(_rows(x), w_qkv, b_qkv)                 # (N, 3C)
    q, k, v = (_heads(qkv[:, i * C : (i + 1) * C], B, n_head) for i in range(3))  # (B,H,T,d)
    if kv is not None:
        keys, values, start = kv
        end = start + T
        keys[:, :, start:end], values[:, :, start:end] = k, v
        k, v = keys[:, :, :end], values[:, :, :end]                          # (B, H, end, d)
    y = np.empty((B * T, C), dtype=x.dtype)                                  # (N, C)
    _, att = attention_forward(q, k, v, out=_heads(y, B, n_head))
    out, proj = linear_forward(y, w_proj, b_proj)                          # (N, C)
    return out.reshape(B, T, C), (qkv_cache, att, proj, n_head, B)


def self_attention_backward(dout, cache):
    """dout (B, T, C) -> (dx, dw_qkv, db_qkv, dw_proj, db_proj)."""
    qkv_cache, att, proj, n_head, B = cache
    C = dout.shape[-1]
    dy, dw_proj, db_proj = linear_backward(_rows(dout), proj)                # (N, C)
    dqkv = np.empty((dy.shape[0], 3 * C), dtype=dout.dtype)                  # (N, 3C)
    heads = tuple(_heads(dqkv[:, i * C : (i + 1) * C], B, n_head) for i in range(3))
    attention_backward(_heads(dy, B, n_head), att, out=heads)
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)                    # (N, C)
    return dx.reshape(dout.shape), dw_qkv, db_qkv, dw_proj, db_proj


# ----------------------------------------------------------------------------- block and model


def block_forward(x, p: dict, n_head: int, kv=None):
    """One pre-norm block, x (B, T, C) -> (B, T, C), each layer norm folded into the linear
    layer after it (_affine_forward)."""
    B, T, C = x.shape
    x = _rows(x)                                                             # (N, C)
    h, ln1 = _normalize_forward(x, 1e-5)
    h, w, b, aff1 = _affine_forward(h, p["ln1.g"], p["ln1.b"], p["attn.w_qkv"], p["attn.b_qkv"])
    x2, attn = self_attention_forward(h.reshape(B, T, C), w, b, p["attn.w_proj"],
                                      p["attn.b_proj"], n_head, kv)          # (B, T, C)
    x2 = _rows(x2)
    x2 += x                                                                  # residual
    h, ln2 = _normalize_forward(x2, 1e-5)
    h, w, b, aff2 = _affine_forward(h, p["ln2.g"], p["ln2.b"], p["mlp.w_fc"], p["mlp.b_fc"])
    out, mlp = mlp_forward(h, w, b, p["mlp.w_proj"], p["mlp.b_proj"])       # (N, C)
    out += x2                                                                # residual
    return out.reshape(B, T, C), (ln1, aff1, attn, ln2, aff2, mlp)


def block_backward(dout, cache):
    """dout (B, T, C) -> (dx (B, T, C), the block's gradients by their short names)."""
    ln1, aff1, attn, ln2, aff2, mlp = cache
    shape, dout, g = dout.shape, _rows(dout), {}
    dh, dw, db, g["mlp.w_proj"], g["mlp.b_proj"] = mlp_backward(dout, mlp)
    dh, g["ln2.g"], g["ln2.b"], g["mlp.w_fc"], g["mlp.b_fc"] = _affine_backward(dh, dw, db, aff2)
    dx2 = _normalize_backward(dh, ln2)
    dx2 += dout                                                              # residual
    dh, dw, db, g["attn.w_proj"], g["attn.b_proj"] = self_attention_backward(
        dx2.reshape(shape), attn)  # fmt: skip
    dh, g["ln1.g"], g["ln1.b"], g["attn.w_qkv"], g["attn.b_qkv"] = _affine_backward(
        _rows(dh), dw, db, aff1)  # fmt: skip
    dx = _normalize_backward(dh, ln1)
    dx += dx2                                                                # residual
    return dx.reshape(shape), g


def forward(model, ids):
    """model.forward(ids), through this module's layers: (logits, the cache `backward` needs)."""
    ids, single = model.checked_batch(ids)
    P = model.params
    x, emb = embedding_forward(ids, P["wte"], P["wpe"])                      # (B, T, C)
    blocks = []
    for i in range(model.config.n_layer):
        x, cache = block_forward(x, model.block_params(i), model.config.n_head)
        blocks.append(cache)
    h, ln_f = layernorm_forward(x, P["ln_f.g"], P["ln_f.b"])                 # (B, T, C)
    logits = h @ model.head().T                                              # (B, T, V)
    cache = {"emb": emb, "blocks": blocks, "ln_f": ln_f, "h": h, "single": single}
    return (logits[0] if single else logits), cache


def backward(model, dlogits, cache) -> dict:
    """model.backward(dlogits, cache) for a cache from `forward` above."""
    (B, T), V, C = cache["emb"][0].shape, model.vocab_size, model.config.n_embd
    dlogits = np.asarray(dlogits, dtype=model.dtype)
    if dlogits.shape != ((T, V) if cache["single"] else (B, T, V)):
        raise ValueError(f"dlogits has shape {dlogits.shape}, expected the logits' shape "
                         f"{(T, V) if cache['single'] else (B, T, V)}")  # fmt: skip
    dlogits = dlogits.reshape(B * T, V)                                      # (N, V)
    dhead = dlogits.T @ _rows(cache["h"])                                    # (V, C)
    grads = {}
    dx, grads["ln_f.g"], grads["ln_f.b"] = layernorm_backward(dlogits @ model.head(),
                                                              cache["ln_f"])  # (N, C)
    dx = dx.reshape(B, T, C)
    for i in reversed(range(model.config.n_layer)):
        dx, block_grads = block_backward(dx, cache["blocks"][i])             # (B, T, C)
        grads.update({f"h.{i}.{name}": g for name, g in block_grads.items()})
    dwte, grads["wpe"] = embedding_backward(dx, cache["emb"])
    grads["wte"] = dwte + dhead if model.config.tie_weights else dwte
    grads["lm_head"] = dhead
    return {name: grads[name] for name in model.params}


# ----------------------------------------------------------------------------- the loss


def cross_entropy_and_grad(logits, targets, mask=None, reduction: str = "mean"):
    """(losses.cross_entropy(...), losses.cross_entropy_grad(...)) from one softmax.

    >>> loss, grad = cross_entropy_and_grad(np.zeros((1, 4)), np.array([2]))
    >>> round(float(loss), 4), grad.tolist()                 # log 4
    (1.3863, [[0.25, 0.25, -0.75, 0.25]])
    """
    logits, targets, weights = losses.checked_loss_inputs(logits, targets, mask, reduction)
    V, rows = logits.shape[-1], np.arange(targets.size)
    flat, gold = logits.reshape(-1, V), targets.reshape(-1)                  # (n, V), (n,)
    grad = flat - losses.checked_max(flat, -1)                               # (n, V) shifted
    gold_shifted = grad[rows, gold]                                          # (n,)
    np.exp(grad, out=grad)
    total = grad.sum(axis=-1)                                                # (n,)
    token_losses = np.log(total) - gold_shifted                              # (n,)
    weight = losses.loss_weights(weights, targets.shape, reduction).reshape(-1).astype(grad.dtype)
    grad *= (weight / total)[:, None]                                        # weighted softmax
    grad[rows, gold] -= weight                                               # minus the one-hot
    loss = losses.reduce_token_losses(token_losses.reshape(targets.shape), weights, reduction)
    return loss, grad.reshape(logits.shape)


def loss_and_gradients(model, x, y, mask=None, reduction: str = "mean"):
    """A training step without its update: (the loss of the batch x, y (B, T) [, mask], the
    gradient of every parameter), through `forward`, `cross_entropy_and_grad` and `backward`.
    Logits that are NaN or infinite raise FloatingPointError before any gradient is computed.
    """
    logits, cache = forward(model, x)                                        # (B, T, V)
    if not np.isfinite(logits.sum()):  # one pass: a sum is finite only if every logit is
        raise FloatingPointError(
            "the model's logits contain NaN or inf, so training has diverged; the parameters "
            "were not updated. Try a lower learning rate or a smaller clip value"
        )
    loss, dlogits = cross_entropy_and_grad(logits, y, mask, reduction)       # (B, T, V)
    return loss, backward(model, dlogits, cache)


# ----------------------------------------------------------------------------- the update


def adamw_update(param, grad, m, v, *, lr: float, step: int, betas, eps: float,
                 weight_decay: float) -> None:
    """optim.adamw_update on cache-sized blocks of the (contiguous) arrays, each pass written
    into one scratch block instead of a new array: the update's passes over a block hit the
    cache (a worker's half of the baby GPT's update, 0.4 M numbers: 1.56 -> 0.99 ms)."""
    if not all(a.flags.c_contiguous for a in (param, m, v)):
        raise ValueError("adamw_update needs contiguous param, m and v: it updates them in "
                         "place through flat views")  # fmt: skip
    beta1, beta2 = betas
    corrected = math.sqrt(1 - beta2**step)  # the bias corrections on the scalars, as in optim
    step_size, eps_corrected = lr * corrected / (1 - beta1**step), eps * corrected
    scratch = np.empty(min(BLOCK_ELEMENTS, param.size), dtype=param.dtype)

    def kernel(param, grad, m, v):
        t = scratch[: param.size]
        np.multiply(grad, 1 - beta1, out=t)
        m *= beta1
        m += t                                      # m = b1 m + (1 - b1) g
        np.multiply(grad, 1 - beta2, out=t)
        t *= grad
        v *= beta2
        v += t                                      # v = b2 v + (1 - b2) g^2
        if weight_decay:
            param *= 1 - lr * weight_decay
        np.sqrt(v, out=t)
        t += eps_corrected
        np.divide(m, t, out=t)
        t *= step_size
        param -= t

    _row_blocks(kernel, param.reshape(-1), np.ravel(grad), m.reshape(-1), v.reshape(-1))
