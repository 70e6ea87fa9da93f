"""A small decoder-only transformer (GPT-2 style) in numpy, with a hand-written backward pass.

    ids (B, T) -> token + position embeddings
               -> n_layer blocks:  x = x + attn(ln1(x));  x = x + mlp(ln2(x))
               -> final layer norm -> output head (tied to the token embedding by default)
               -> logits (B, T, V)

The block is written once (`block_forward` / `block_backward`); one forward pass serves training
(`forward`, keeping what `backward` needs) and decoding with a key/value cache (`forward_cached`).
Inside the model the B sequences of T tokens are N = B*T rows of C features (a view, no copy).
"""

from __future__ import annotations

import math

import numpy as np

from .checkpoint import load_checkpoint, save_checkpoint
from .checks import check_sequence, check_shape, check_token_ids, check_type
from .config import TransformerConfig, block_shapes
from .kvcache import KVCache
from .layers import (
    affine_backward,
    affine_forward,
    attention_probabilities,
    causal_mask,
    embedding_backward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
    mlp_backward,
    mlp_forward,
    normalize_backward,
    normalize_forward,
    self_attention_backward,
    self_attention_forward,
)
from .losses import softmax
from .optim import flat_copy


def block_forward(x, p: dict, n_head: int, batch_size: int, mask, kv=None):
    """One block on x (N, C) -> (N, C), and the cache `block_backward` needs.

    p: the block's parameters by their short names (see block_shapes); mask (T, Tk) additive;
    kv: this layer's (keys, values, start) cache when decoding (see self_attention_forward).
    A layer norm's scale and shift may be folded into the linear layer after it (affine_forward).
    """
    h, ln1 = normalize_forward(x)                                                    # (N, C)
    h, w, b, aff1 = affine_forward(h, p["ln1.g"], p["ln1.b"], p["attn.w_qkv"], p["attn.b_qkv"])
    x2, attn = self_attention_forward(h, w, b, p["attn.w_proj"], p["attn.b_proj"], n_head,
                                      batch_size, mask, kv)                          # (N, C)
    x2 += x                                                              # (N, C) residual
    h, ln2 = normalize_forward(x2)                                                   # (N, C)
    h, w, b, aff2 = affine_forward(h, p["ln2.g"], p["ln2.b"], p["mlp.w_fc"], p["mlp.b_fc"])
    out, mlp = mlp_forward(h, w, b, p["mlp.w_proj"], p["mlp.b_proj"])                # (N, C)
    out += x2                                                            # (N, C) residual
    return out, (ln1, aff1, attn, ln2, aff2, mlp)


def block_backward(dout, cache) -> tuple[np.ndarray, dict]:
    """dout (N, C) -> (dx (N, C), the block's gradients by their short names)."""
    ln1, aff1, attn, ln2, aff2, mlp = cache
    g = {}
    dh, dw, db, g["mlp.w_proj"], g["mlp.b_proj"] = mlp_backward(dout, mlp)          # (N, C)
    dh, g["ln2.g"], g["ln2.b"], g["mlp.w_fc"], g["mlp.b_fc"] = affine_backward(dh, dw, db, aff2)
    dx2 = normalize_backward(dh, ln2)                                                # (N, C)
    dx2 += dout                                                          # (N, C) residual
    dh, dw, db, g["attn.w_proj"], g["attn.b_proj"] = self_attention_backward(dx2, attn)
    dh, g["ln1.g"], g["ln1.b"], g["attn.w_qkv"], g["attn.b_qkv"] = affine_backward(dh, dw, db,
                                                                                   aff1)
    dx = normalize_backward(dh, ln1)                                                 # (N, C)
    dx += dx2                                                            # (N, C) residual
    return dx, g


class Transformer:
    """Decoder-only transformer language model (see the module docstring for the layout).

    params: dict name -> array, e.g. "wte" (V, C), "wpe" (block_size, C), "h.0.ln1.g" (C,),
    "h.0.attn.w_qkv" (C, 3C), "h.0.mlp.w_fc" (C, 4C), ..., "ln_f.b" (C,), and "lm_head" (V, C)
    when the weights are not tied; vocab_size (V) and block_size (the longest context) are
    the config's. Weights are initialised GPT-2 style from `seed`:
    normal(0, 0.02), the residual output projections scaled by 1/sqrt(2 n_layer), biases 0.

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
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in config.param_shapes().items():
            if name.endswith(".g"):
                params[name] = np.ones(shape, dtype=dtype)
            elif name.endswith((".b", ".b_qkv", ".b_fc", ".b_proj")):
                params[name] = np.zeros(shape, dtype=dtype)
            else:  # an output projection writes into the residual stream: a smaller start
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith(".w_proj") else 0.02
                params[name] = (rng.standard_normal(shape) * std).astype(dtype)
        self._setup(config, params, metadata={})

    def _setup(self, config: TransformerConfig, params: dict, metadata: dict) -> None:
        self.config, self.metadata, self.dtype = config, metadata, params["wte"].dtype
        self.vocab_size, self.block_size = config.vocab_size, config.block_size
        self.params = flat_copy(params)  # one buffer: AdamW updates it in a few long passes
        self.mask = causal_mask(config.block_size, self.dtype)       # (block_size, block_size)

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

    def _blocks(self) -> list[dict]:
        """Each block's parameters by their short names: the arrays of params, not copies."""
        return [{name: self.params[f"h.{i}.{name}"] for name in block_shapes(self.config.n_embd)}
                for i in range(self.config.n_layer)]  # fmt: skip

    def _head(self) -> np.ndarray:
        return self.params["wte"] if self.config.tie_weights else self.params["lm_head"]

    def _run(self, ids: np.ndarray, kv: KVCache | None = None):
        """The one forward pass, ids (B, T) -> logits (B, T, V) and the cache; with `kv` the
        tokens continue the cached sequences (their positions start at kv.length)."""
        B, T = ids.shape
        P, start = self.params, (0 if kv is None else kv.length)
        x, emb = embedding_forward(ids, P["wte"], P["wpe"], start)          # (B, T, C)
        x = x.reshape(B * T, self.config.n_embd)                            # (N, C) view
        mask = self.mask[start : start + T, : start + T]                    # (T, start + T)
        blocks = []
        for i, p in enumerate(self._blocks()):
            layer_kv = None if kv is None else (kv.keys[i], kv.values[i], start)
            x, cache = block_forward(x, p, self.config.n_head, B, mask, layer_kv)  # (N, C)
            blocks.append(cache)
        h, ln_f = layernorm_forward(x, P["ln_f.g"], P["ln_f.b"])            # (N, C)
        logits = (h @ self._head().T).reshape(B, T, self.vocab_size)        # (B, T, V)
        return logits, {"emb": emb, "blocks": blocks, "ln_f": ln_f, "h": h}

    def _as_batch(self, ids) -> tuple[np.ndarray, bool]:
        """Validated ids as (B, T), and whether the caller gave a single (T,) sequence."""
        ids = check_token_ids(ids, self.vocab_size)
        return (ids[None] if ids.ndim == 1 else ids), ids.ndim == 1

    def forward(self, ids):
        """Logits for every position, plus the cache that `backward` needs.

        ids (B, T) int with T <= block_size -> logits (B, T, V); a (T,) sequence gives (T, V).
        logits[b, t] scores the token that follows ids[b, :t+1].
        """
        ids, single = self._as_batch(ids)
        if ids.shape[1] > self.block_size:
            raise ValueError(f"sequence length {ids.shape[1]} exceeds block_size {self.block_size}"
                             f"; crop the context to its last {self.block_size} tokens")
        logits, cache = self._run(ids)
        cache["single"] = single
        return (logits[0] if single else logits), cache

    def backward(self, dlogits, cache) -> dict:
        """Gradients of the loss w.r.t. every parameter (a dict shaped like `params`), given
        dloss/dlogits, shaped like the logits `forward` returned: (B, T, V) or (T, V)."""
        (B, T), V = cache["emb"][0].shape, self.vocab_size
        dlogits = check_shape(np.asarray(dlogits, dtype=self.dtype),
                              (T, V) if cache["single"] else (B, T, V), "dlogits",
                              "the logits' shape")  # fmt: skip
        dlogits = dlogits.reshape(B * T, V)                                  # (N, V)
        dhead = dlogits.T @ cache["h"]                                       # (V, C)
        dx, dln_g, dln_b = layernorm_backward(dlogits @ self._head(), cache["ln_f"])  # (N, C)
        grads = {"ln_f.g": dln_g, "ln_f.b": dln_b}
        for i in reversed(range(self.config.n_layer)):
            dx, block_grads = block_backward(dx, cache["blocks"][i])         # (N, C)
            grads.update({f"h.{i}.{name}": g for name, g in block_grads.items()})
        dwte, grads["wpe"] = embedding_backward(dx.reshape(B, T, -1), cache["emb"])  # (V, C)
        grads["wte"] = dwte + dhead if self.config.tie_weights else dwte    # (V, C)
        grads["lm_head"] = dhead              # (V, C), left out below when the head is wte
        return flat_copy({name: grads[name] for name in self.params})  # laid out like params

    def logits(self, ids) -> np.ndarray:
        """ids (B, T) -> logits (B, T, V); a (T,) sequence gives (T, V)."""
        return self.forward(ids)[0]

    def attention_weights(self, ids) -> np.ndarray:
        """The attention probabilities of one sequence, ids (T,) -> (n_layer, n_head, T, T).

        [layer, head, i, j] is how much query position i reads key position j (0 for j > i).
        """
        _, cache = self.forward(check_sequence(ids, self.vocab_size, "ids"))
        return np.stack([attention_probabilities(attn)[0] for _, _, attn, *_ in cache["blocks"]])

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty key/value cache for decoding `batch_size` sequences with `forward_cached`."""
        return KVCache.empty(self.config, batch_size, self.dtype)

    def forward_cached(self, ids_new, kv: KVCache) -> np.ndarray:
        """Logits for new tokens that continue the sequences stored in `kv`; appends them to `kv`.

        ids_new (B, t) -> logits (B, t, V) (a (t,) array gives (t, V) when B == 1). Feeding a
        sequence in pieces gives the same logits as `logits` on the whole sequence.

        >>> cfg = TransformerConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)
        >>> model = Transformer(cfg)
        >>> kv = model.new_kv_cache()
        >>> model.forward_cached(np.array([[1, 2]]), kv).shape, kv.length
        ((1, 2, 10), 2)
        """
        check_type(kv, KVCache, "kv", " from new_kv_cache()")
        ids, single = self._as_batch(ids_new)
        kv.check_room(self.config, ids)
        logits, _ = self._run(ids, kv)                                       # (B, t, V)
        kv.length += ids.shape[1]
        return logits[0] if single else logits

    def next_token_probs(self, context) -> np.ndarray:
        """Probabilities (V,) float64 of the next token after `context` (a sequence of ids).

        Only the last block_size tokens are read.
        """
        ids = check_sequence(context, self.vocab_size)
        return softmax(self.logits(ids[-self.block_size :])[-1].astype(np.float64))  # (V,)

    def save(self, path, metadata: dict | None = None) -> None:
        """Write the weights to `path.npz` and the config and `metadata` (a JSON-ready dict,
        by default `self.metadata`; `model.metadata` after `load`) to `path.json`."""
        metadata = dict(self.metadata if metadata is None else metadata)
        save_checkpoint(path, self.config.to_dict(), self.params, metadata)
        self.metadata = metadata

    @classmethod
    def load(cls, path) -> Transformer:
        """Load a model written by `save` (`path` may end in .npz, .json or neither).
        FileNotFoundError for a missing file, ValueError for a corrupt checkpoint."""
        config, params, metadata = load_checkpoint(path, TransformerConfig.from_dict,
                                                   TransformerConfig.param_shapes)  # fmt: skip
        return cls._from_params(config, params, metadata)
