"""A decoder-only transformer (GPT-2 style) in plain numpy, with its backward pass written by hand.

Read it top to bottom: the configuration; each layer as a forward/backward pair (embedding,
linear, layer norm, GELU, MLP, causal self-attention); the block, written once; the model.

    ids (B, T) -> token + position embeddings                          x (B, T, C)
               -> n_layer blocks:  x = x + attn(ln1(x));  x = x + mlp(ln2(x))
               -> final layer norm -> output head (the token embedding, tied)
               -> logits (B, T, V)

Every `*_forward` returns (output, cache); its `*_backward(dout, cache)` returns the gradients
of the loss with respect to the inputs, then the parameters. Shapes: B sequences of T tokens,
C = n_embd features, H heads of d = C // H features, V tokens in the vocabulary. The functions
work in the float dtype they are given (float32 to run, float64 for gradient checks).

This is the course's listing of the model. `course_lib.fast` computes the same functions faster
(fused and cache-blocked) for training; tests/test_fast.py checks that both give the same results.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .checkpoint import load_checkpoint, save_checkpoint
from .checks import check_int, check_sequence, check_shape, check_token_ids, check_type
from .losses import softmax, softmax_backward

# ----------------------------------------------------------------------------- configuration


@dataclass
class TransformerConfig:
    """Hyper-parameters: vocab_size token ids, block_size positions (the longest context),
    n_layer blocks, n_head heads, n_embd features (a multiple of n_head); tie_weights: the output
    head reuses the token embedding.

    >>> TransformerConfig(vocab_size=10, n_embd=8, n_head=2).param_shapes()["h.0.attn.w_qkv"]
    (8, 24)
    """

    vocab_size: int
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    tie_weights: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            setattr(self, name, check_int(getattr(self, name), f"config field {name}"))
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not isinstance(self.tie_weights, (bool, np.bool_)):
            raise TypeError(f"config field tie_weights must be a bool, got {self.tie_weights!r}")
        self.tie_weights = bool(self.tie_weights)

    def param_shapes(self) -> dict:
        """Name -> shape of every parameter: "wte" (V, C), "wpe" (block_size, C), each block's
        "h.{i}." + block_shapes names, "ln_f.g" and "ln_f.b" (C,), "lm_head" (V, C) if untied."""
        V, C = self.vocab_size, self.n_embd
        shapes = {"wte": (V, C), "wpe": (self.block_size, C)}
        for i in range(self.n_layer):
            shapes.update({f"h.{i}.{name}": shape for name, shape in block_shapes(C).items()})
        shapes.update({"ln_f.g": (C,), "ln_f.b": (C,)})
        if not self.tie_weights:
            shapes["lm_head"] = (V, C)
        return shapes

    def to_dict(self) -> dict:
        """The config as a plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TransformerConfig:
        """Rebuild a config from `to_dict()` output; unknown or missing fields raise ValueError."""
        check_type(data, dict, "a transformer config")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown transformer config field(s) {unknown}; expected fields "
                             f"{sorted(known)}")  # fmt: skip
        if "vocab_size" not in data:
            raise ValueError("transformer config is missing the required field 'vocab_size'")
        return cls(**data)


def block_shapes(C: int) -> dict:
    """Name -> shape of one block's parameters (the names after "h.{i}."), for C features."""
    return {"ln1.g": (C,), "ln1.b": (C,), "attn.w_qkv": (C, 3 * C), "attn.b_qkv": (3 * C,),
            "attn.w_proj": (C, C), "attn.b_proj": (C,), "ln2.g": (C,), "ln2.b": (C,),
            "mlp.w_fc": (C, 4 * C), "mlp.b_fc": (4 * C,), "mlp.w_proj": (4 * C, C),
            "mlp.b_proj": (C,)}  # fmt: skip


# ----------------------------------------------------------------------------- layers


def embedding_forward(ids, wte, wpe, start: int = 0):
    """ids (B, T) -> x (B, T, C): each token's row of wte plus its position's row of wpe.
    The tokens sit at positions start .. start + T - 1 (start > 0 when decoding with a cache).

    >>> embedding_forward(np.array([[0, 2]]), np.eye(3), np.zeros((4, 3)))[0].tolist()
    [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
    """
    x = wte[ids] + wpe[start : start + ids.shape[1]]   # (B, T, C) + (T, C)
    return x, (ids, wte.shape, wpe.shape, start)


def embedding_backward(dx, cache):
    """dx (B, T, C) -> (dwte (V, C), dwpe (block_size, C))."""
    ids, wte_shape, wpe_shape, start = cache
    dwte = np.zeros(wte_shape, dtype=dx.dtype)          # (V, C)
    np.add.at(dwte, ids, dx)                            # a token used twice collects both rows
    dwpe = np.zeros(wpe_shape, dtype=dx.dtype)          # (block_size, C)
    dwpe[start : start + ids.shape[1]] = dx.sum(axis=0)  # (T, C): summed over the batch
    return dwte, dwpe


def linear_forward(x, w, b):
    """x (..., C_in) @ w (C_in, C_out) + b (C_out,) -> (..., C_out).

    >>> linear_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))[0].shape
    (2, 4)
    """
    return x @ w + b, (x, w)


def linear_backward(dy, cache):
    """dy (..., C_out) -> (dx (..., C_in), dw (C_in, C_out), db (C_out,))."""
    x, w = cache
    x_rows, dy_rows = x.reshape(-1, w.shape[0]), dy.reshape(-1, w.shape[1])  # (N, C_in), (N, C_out)
    return dy @ w.T, x_rows.T @ dy_rows, dy_rows.sum(axis=0)


def layernorm_forward(x, g, b, eps: float = 1e-5):
    """Normalise each row of x (..., C) to mean 0 and variance 1, then scale by g and shift by
    b (C,).

    >>> y, _ = layernorm_forward(np.array([[1.0, 3.0]]), np.ones(2), 10 * np.ones(2))
    >>> np.round(y, 3).tolist()
    [[9.0, 11.0]]
    """
    mean = x.mean(axis=-1, keepdims=True)                          # (..., 1)
    rstd = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)      # (..., 1)
    xhat = (x - mean) * rstd                                       # (..., C)
    return xhat * g + b, (xhat, rstd, g)


def layernorm_backward(dy, cache):
    """dy (..., C) -> (dx (..., C), dg (C,), db (C,))."""
    xhat, rstd, g = cache
    C = xhat.shape[-1]
    dxhat = dy * g                                                 # (..., C)
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))  # (..., C)  # fmt: skip
    return dx, (dy * xhat).reshape(-1, C).sum(axis=0), dy.reshape(-1, C).sum(axis=0)


GELU_COEF = 0.044715
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_forward(x):
    """GELU, the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    >>> np.round(gelu_forward(np.array([-3.0, 0.0, 3.0]))[0], 3).tolist()
    [-0.004, 0.0, 2.996]
    """
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_COEF * x * x * x))      # same shape as x
    return 0.5 * x * (1 + t), (x, t)


def gelu_backward(dy, cache):
    """dy -> dx = dy * (0.5 (1 + t) + 0.5 x (1 - t^2) dz/dx), z the tanh's argument."""
    x, t = cache
    dz_dx = SQRT_2_OVER_PI * (1 + 3 * GELU_COEF * x**2)
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * dz_dx)


def mlp_forward(x, w_fc, b_fc, w_proj, b_proj):
    """The block's feed-forward network: linear (C -> 4C), GELU, linear (4C -> C). x (..., C)."""
    h, fc = linear_forward(x, w_fc, b_fc)                # (..., 4C)
    a, gelu = gelu_forward(h)                            # (..., 4C)
    y, proj = linear_forward(a, w_proj, b_proj)          # (..., C)
    return y, (fc, gelu, proj)


def mlp_backward(dy, cache):
    """dy (..., C) -> (dx, dw_fc, db_fc, dw_proj, db_proj)."""
    fc, gelu, proj = cache
    da, dw_proj, db_proj = linear_backward(dy, proj)     # (..., 4C)
    dx, dw_fc, db_fc = linear_backward(gelu_backward(da, gelu), fc)  # (..., C)
    return dx, dw_fc, db_fc, dw_proj, db_proj


def causal_mask(T_q: int, T_k: int) -> np.ndarray:
    """(T_q, T_k) bool, True where query i may read key j. The queries are the last T_q of the T_k
    positions (T_k > T_q when decoding with a cache): query i sits at T_k - T_q + i and reads the
    keys up to there, itself included, never a later one.

    >>> causal_mask(2, 3).astype(int).tolist()
    [[1, 1, 0], [1, 1, 1]]
    """
    return np.arange(T_k)[None, :] <= np.arange(T_k - T_q, T_k)[:, None]


def split_heads(x, n_head: int):
    """x (B, T, C) -> (B, H, T, d): head h gets the features h*d .. (h+1)*d - 1."""
    B, T, C = x.shape
    return x.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(y):
    """y (B, H, T, d) -> (B, T, H*d): the heads side by side again (undoes split_heads)."""
    B, H, T, d = y.shape
    return y.transpose(0, 2, 1, 3).reshape(B, T, H * d)


def attention_forward(q, k, v):
    """Causal scaled dot-product attention of every head: q (B, H, Tq, d), k and v (B, H, Tk, d)
    -> y (B, H, Tq, d). Each query's scores with the keys, q k / sqrt(d), are -inf where the key
    comes after the query (causal_mask); their softmax over the keys weighs the values.

    >>> q = k = v = np.ones((1, 1, 2, 4))
    >>> attention_forward(q, k, v)[0].shape
    (1, 1, 2, 4)
    """
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])          # (B, H, Tq, Tk)
    scores = np.where(causal_mask(q.shape[2], k.shape[2]), scores, -np.inf)
    probs = softmax(scores)                                            # (B, H, Tq, Tk)
    return probs @ v, (q, k, v, probs)                                 # (B, H, Tq, d)


def attention_backward(dy, cache):
    """dy (B, H, Tq, d) -> (dq, dk, dv), shaped like q, k and v."""
    q, k, v, probs = cache
    dv = probs.swapaxes(-1, -2) @ dy                                   # (B, H, Tk, d)
    dprobs = dy @ v.swapaxes(-1, -2)                                   # (B, H, Tq, Tk)
    dscores = softmax_backward(probs, dprobs) / math.sqrt(q.shape[-1])  # 0 where masked
    return dscores @ k, dscores.swapaxes(-1, -2) @ q, dv


def attention_probabilities(cache):
    """The attention probabilities (B, H, Tq, Tk) kept in an attention_forward cache."""
    return cache[3]


def self_attention_forward(x, w_qkv, b_qkv, w_proj, b_proj, n_head: int, kv=None):
    """Causal multi-head self-attention: x (B, T, C) -> (B, T, C).

    One linear map makes the queries, keys and values (C -> 3C, in that order), the heads
    attend side by side, and the output projection (C -> C) mixes them. kv, when decoding, is
    this layer's (keys, values, start): (B, H, block_size, d) buffers holding `start` earlier
    tokens; the new keys and values are written after them and the queries read all of them.
    """
    C = x.shape[-1]
    qkv, qkv_cache = linear_forward(x, w_qkv, b_qkv)                          # (B, T, 3C)
    q, k, v = (split_heads(qkv[..., i * C : (i + 1) * C], n_head) for i in range(3))  # (B,H,T,d)
    if kv is not None:
        keys, values, start = kv
        end = start + q.shape[2]
        keys[:, :, start:end], values[:, :, start:end] = k, v
        k, v = keys[:, :, :end], values[:, :, :end]                           # (B, H, end, d)
    y, att = attention_forward(q, k, v)                                       # (B, H, T, d)
    out, proj = linear_forward(merge_heads(y), w_proj, b_proj)                # (B, T, C)
    return out, (qkv_cache, att, proj, n_head)


def self_attention_backward(dout, cache):
    """dout (B, T, C) -> (dx, dw_qkv, db_qkv, dw_proj, db_proj)."""
    qkv_cache, att, proj, n_head = cache
    dy, dw_proj, db_proj = linear_backward(dout, proj)                        # (B, T, C)
    dq, dk, dv = attention_backward(split_heads(dy, n_head), att)             # (B, H, T, d)
    dqkv = np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=-1)  # 3C
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)                     # (B, T, C)
    return dx, dw_qkv, db_qkv, dw_proj, db_proj


# ----------------------------------------------------------------------------- the block


def block_forward(x, p: dict, n_head: int, kv=None):
    """One pre-norm block: x (B, T, C) -> x + attn(ln1(x)), then + mlp(ln2(.)): (B, T, C).
    p: the block's parameters by their short names (block_shapes); kv: as self_attention_forward.
    """
    h, ln1 = layernorm_forward(x, p["ln1.g"], p["ln1.b"])                     # (B, T, C)
    a, attn = self_attention_forward(h, p["attn.w_qkv"], p["attn.b_qkv"], p["attn.w_proj"],
                                     p["attn.b_proj"], n_head, kv)            # (B, T, C)
    x = x + a                                                                 # residual
    h, ln2 = layernorm_forward(x, p["ln2.g"], p["ln2.b"])                     # (B, T, C)
    m, mlp = mlp_forward(h, p["mlp.w_fc"], p["mlp.b_fc"], p["mlp.w_proj"], p["mlp.b_proj"])
    return x + m, (ln1, attn, ln2, mlp)                                       # residual


def block_backward(dout, cache):
    """dout (B, T, C) -> (dx (B, T, C), the block's gradients by their short names)."""
    ln1, attn, ln2, mlp = cache
    g = {}
    dh, g["mlp.w_fc"], g["mlp.b_fc"], g["mlp.w_proj"], g["mlp.b_proj"] = mlp_backward(dout, mlp)
    dx, g["ln2.g"], g["ln2.b"] = layernorm_backward(dh, ln2)                  # (B, T, C)
    dx = dx + dout                                       # the residual passes dout on
    dh, g["attn.w_qkv"], g["attn.b_qkv"], g["attn.w_proj"], g["attn.b_proj"] = \
        self_attention_backward(dx, attn)  # fmt: skip
    dh, g["ln1.g"], g["ln1.b"] = layernorm_backward(dh, ln1)                  # (B, T, C)
    return dh + dx, g


# ----------------------------------------------------------------------------- the model


@dataclass
class KVCache:
    """The keys and values of the tokens decoded so far, one (B, H, block_size, d) buffer each
    per layer; `length` tokens are stored. Make one with `model.new_kv_cache(batch_size)`."""

    keys: list
    values: list
    length: int = 0

    def __len__(self) -> int:
        return self.length


class Transformer:
    """The decoder-only transformer language model (see the module docstring for the layout).

    params: name -> array (TransformerConfig.param_shapes), initialised GPT-2 style from `seed`:
    weights normal(0, 0.02), the output projections that write into the residual stream by
    1/sqrt(2 n_layer) smaller, biases 0, layer-norm scales 1.

    >>> model = Transformer(TransformerConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1,
    ...                                       n_embd=4))
    >>> model.params["h.0.attn.w_qkv"].shape, model.logits(np.array([[1, 2, 3]])).shape
    ((4, 12), (1, 3, 10))
    """

    def __init__(self, config: TransformerConfig, seed: int = 0, dtype=np.float32):
        check_type(config, TransformerConfig, "config")
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a float type such as np.float32, got {dtype}")
        rng, params = np.random.default_rng(seed), {}
        for name, shape in config.param_shapes().items():
            if name.endswith(".g"):
                params[name] = np.ones(shape, dtype=dtype)
            elif name.endswith((".b", ".b_qkv", ".b_fc", ".b_proj")):
                params[name] = np.zeros(shape, dtype=dtype)
            else:
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith(".w_proj") else 0.02
                params[name] = (rng.standard_normal(shape) * std).astype(dtype)
        self._setup(config, params, metadata={})

    def _setup(self, config: TransformerConfig, params: dict, metadata: dict) -> None:
        self.config, self.params, self.metadata = config, params, metadata
        self.vocab_size, self.block_size, self.dtype = (config.vocab_size, config.block_size,
                                                        params["wte"].dtype)  # fmt: skip

    @classmethod
    def _from_params(cls, config: TransformerConfig, params: dict, metadata: dict):
        model = cls.__new__(cls)
        model._setup(config, params, metadata)
        return model

    def num_params(self) -> int:
        """Total number of parameters (a tied head is counted once)."""
        return sum(p.size for p in self.params.values())

    def astype(self, dtype) -> Transformer:
        """A copy of the model with every parameter cast to `dtype` (e.g. np.float64)."""
        return self._from_params(self.config, {n: p.astype(dtype) for n, p in self.params.items()},
                                 dict(self.metadata))  # fmt: skip

    def block_params(self, i: int) -> dict:
        """Block i's parameters by their short names ("ln1.g", "attn.w_qkv", ...): the arrays of
        `params` themselves, not copies."""
        return {name: self.params[f"h.{i}.{name}"] for name in block_shapes(self.config.n_embd)}

    def head(self):
        """The output head (V, C): the token embedding when the weights are tied."""
        return self.params["wte"] if self.config.tie_weights else self.params["lm_head"]

    def _run(self, ids, kv: KVCache | None = None):
        """ids (B, T) -> logits (B, T, V) and the cache `backward` needs; with `kv` the tokens
        continue the cached sequences (their positions start at kv.length)."""
        P, start = self.params, 0 if kv is None else kv.length
        x, emb = embedding_forward(ids, P["wte"], P["wpe"], start)            # (B, T, C)
        blocks = []
        for i in range(self.config.n_layer):
            layer_kv = None if kv is None else (kv.keys[i], kv.values[i], start)
            x, cache = block_forward(x, self.block_params(i), self.config.n_head, layer_kv)
            blocks.append(cache)
        h, ln_f = layernorm_forward(x, P["ln_f.g"], P["ln_f.b"])              # (B, T, C)
        logits = h @ self.head().T                                            # (B, T, V)
        return logits, {"emb": emb, "blocks": blocks, "ln_f": ln_f, "h": h}

    def checked_batch(self, ids):
        """ids checked (in range, at most block_size long) as (B, T), and whether the caller
        gave one (T,) sequence."""
        ids = check_token_ids(ids, self.vocab_size)
        if ids.shape[-1] > self.block_size:
            raise ValueError(f"sequence length {ids.shape[-1]} exceeds block_size "
                             f"{self.block_size}; crop the context to its last {self.block_size} "
                             "tokens")  # fmt: skip
        return (ids[None] if ids.ndim == 1 else ids), ids.ndim == 1

    def forward(self, ids):
        """ids (B, T) with T <= block_size -> (logits (B, T, V), the cache `backward` needs);
        a (T,) sequence gives (T, V). logits[b, t] scores the token after ids[b, :t+1]."""
        ids, single = self.checked_batch(ids)
        logits, cache = self._run(ids)
        cache["single"] = single
        return (logits[0] if single else logits), cache

    def backward(self, dlogits, cache) -> dict:
        """dloss/dlogits, shaped like forward's logits -> the gradient of every parameter (a dict
        shaped like `params`)."""
        (B, T), V, C = cache["emb"][0].shape, self.vocab_size, self.config.n_embd
        dlogits = check_shape(np.asarray(dlogits, dtype=self.dtype),
                              (T, V) if cache["single"] else (B, T, V), "dlogits",
                              "the logits' shape").reshape(B, T, V)  # fmt: skip
        dhead = dlogits.reshape(-1, V).T @ cache["h"].reshape(-1, C)          # (V, C)
        grads = {}
        dx, grads["ln_f.g"], grads["ln_f.b"] = layernorm_backward(dlogits @ self.head(),
                                                                  cache["ln_f"])  # (B, T, C)
        for i in reversed(range(self.config.n_layer)):
            dx, block_grads = block_backward(dx, cache["blocks"][i])          # (B, T, C)
            grads.update({f"h.{i}.{name}": g for name, g in block_grads.items()})
        dwte, grads["wpe"] = embedding_backward(dx, cache["emb"])             # (V, C)
        grads["wte"] = dwte + dhead if self.config.tie_weights else dwte
        grads["lm_head"] = dhead               # (V, C), left out below when the head is wte
        return {name: grads[name] for name in self.params}

    def logits(self, ids):
        """ids (B, T) -> logits (B, T, V); a (T,) sequence gives (T, V)."""
        return self.forward(ids)[0]

    def attention_weights(self, ids):
        """ids (T,) -> (n_layer, n_head, T, T): [layer, head, i, j] is how much position i reads
        position j (0 for j > i)."""
        _, cache = self.forward(check_sequence(ids, self.vocab_size, "ids"))
        return np.stack([attention_probabilities(attn[1])[0] for _, attn, *_ in cache["blocks"]])

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty key/value cache for decoding `batch_size` sequences with `forward_cached`."""
        c = self.config
        shape = (check_int(batch_size, "batch_size"), c.n_head, c.block_size, c.n_embd // c.n_head)
        return KVCache([np.zeros(shape, self.dtype) for _ in range(c.n_layer)],
                       [np.zeros(shape, self.dtype) for _ in range(c.n_layer)])  # fmt: skip

    def forward_cached(self, ids_new, kv: KVCache):
        """Logits of new tokens that continue the sequences in `kv`, which they join.

        ids_new (B, t) -> logits (B, t, V) ((t,) gives (t, V) when B == 1). Feeding a sequence in
        pieces gives the logits of the whole: earlier positions' keys and values never change.

        >>> model = Transformer(TransformerConfig(vocab_size=10, block_size=8, n_layer=1,
        ...                                       n_head=2, n_embd=8))
        >>> kv = model.new_kv_cache()
        >>> model.forward_cached(np.array([[1, 2]]), kv).shape, kv.length
        ((1, 2, 10), 2)
        """
        check_type(kv, KVCache, "kv", " from new_kv_cache()")
        ids, single = self.checked_batch(ids_new)
        c, (B, t) = self.config, ids.shape
        if len(kv.keys) != c.n_layer or kv.keys[0].shape[1:] != (c.n_head, c.block_size,
                                                                  c.n_embd // c.n_head):
            raise ValueError("this KVCache was made for a different model; use new_kv_cache()")
        if B != kv.keys[0].shape[0]:
            raise ValueError(f"ids_new has batch size {B}, but the cache holds "
                             f"{kv.keys[0].shape[0]} sequences")  # fmt: skip
        if kv.length + t > self.block_size:
            raise ValueError(f"the cache holds {kv.length} tokens and {t} more would exceed "
                             f"block_size {self.block_size}; start a new cache with a context of "
                             f"at most {self.block_size} tokens")  # fmt: skip
        logits, _ = self._run(ids, kv)                                        # (B, t, V)
        kv.length += t
        return logits[0] if single else logits

    def next_token_probs(self, context):
        """Probabilities (V,) float64 of the token after `context` (ids); reads only its last
        block_size tokens."""
        ids = check_sequence(context, self.vocab_size)
        return softmax(self.logits(ids[-self.block_size :])[-1].astype(np.float64))  # (V,)

    def save(self, path, metadata: dict | None = None) -> None:
        """Write the weights to `path.npz`, the config and `metadata` (JSON-ready; by default
        `self.metadata`) to `path.json`."""
        metadata = dict(self.metadata if metadata is None else metadata)
        save_checkpoint(path, self.config.to_dict(), self.params, metadata)
        self.metadata = metadata

    @classmethod
    def load(cls, path) -> Transformer:
        """A model written by `save` (`path` may end in .npz, .json or neither).
        FileNotFoundError for a missing file, ValueError for a corrupt checkpoint."""
        config, params, metadata = load_checkpoint(path, TransformerConfig.from_dict,
                                                   TransformerConfig.param_shapes)  # fmt: skip
        return cls._from_params(config, params, metadata)
