"""A small decoder-only transformer (GPT-2 style) in numpy, with a hand-written backward pass.

    ids (B, T) -> token + position embeddings
               -> n_layer blocks:  x = x + attn(ln1(x));  x = x + mlp(ln2(x))
               -> final layer norm -> output head (tied to the token embedding by default)
               -> logits (B, T, V)

`forward` keeps the activations that `backward` needs; `forward_cached` decodes incrementally
with a key/value cache (each new token attends to the stored keys and values instead of
recomputing the whole context). The layers themselves live in `course_lib.layers`.

>>> model = Transformer(TransformerConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2,
...                                       n_embd=8))
>>> model.logits(np.array([[1, 2, 3]])).shape
(1, 3, 10)
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .layers import (
    attention_forward,
    causal_mask,
    check_token_ids,
    embedding_backward,
    embedding_forward,
    layernorm_backward,
    layernorm_forward,
    linear_forward,
    merge_heads,
    mlp_backward,
    mlp_forward,
    self_attention_backward,
    self_attention_forward,
    split_heads,
)

CHECKPOINT_FORMAT = "llm-foundations/transformer"


@dataclass
class TransformerConfig:
    """Hyper-parameters of the transformer.

    vocab_size: number of token ids; block_size: longest context (positions) the model handles;
    n_layer blocks, n_head attention heads, n_embd features (a multiple of n_head);
    tie_weights: the output head reuses the token embedding matrix.

    >>> TransformerConfig(vocab_size=100, n_layer=2).to_dict()["n_layer"]
    2
    """

    vocab_size: int
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    tie_weights: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"config field {name} must be an int, got {value!r}")
            if value <= 0:
                raise ValueError(f"config field {name} must be positive, got {value}")
            setattr(self, name, int(value))
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})"
            )
        if not isinstance(self.tie_weights, (bool, np.bool_)):
            raise TypeError(f"config field tie_weights must be a bool, got {self.tie_weights!r}")
        self.tie_weights = bool(self.tie_weights)

    def to_dict(self) -> dict:
        """The config as a plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TransformerConfig:
        """Rebuild a config from `to_dict()` output; unknown or missing fields raise ValueError."""
        if not isinstance(data, dict):
            raise TypeError(f"a transformer config must be a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown transformer config field(s) {unknown}; expected fields {sorted(known)}"
            )
        if "vocab_size" not in data:
            raise ValueError("transformer config is missing the required field 'vocab_size'")
        return cls(**data)


@dataclass
class KVCache:
    """Keys and values of the tokens seen so far, one (B, H, block_size, d) buffer per layer.

    `length` tokens are stored; `Transformer.forward_cached` appends to it.
    Make one with `model.new_kv_cache(batch_size)`.
    """

    keys: list
    values: list
    length: int = 0

    @property
    def batch_size(self) -> int:
        """Number of sequences decoded in parallel."""
        return self.keys[0].shape[0]

    def __len__(self) -> int:
        return self.length


class Transformer:
    """Decoder-only transformer language model (see the module docstring for the layout).

    params: dict name -> array, e.g. "wte" (V, C), "wpe" (block_size, C), "h.0.ln1.g" (C,),
    "h.0.attn.w_qkv" (C, 3C), "h.0.mlp.w_fc" (C, 4C), ..., "ln_f.b" (C,), and "lm_head" (V, C)
    when the weights are not tied. Weights are initialised GPT-2 style from `seed`:
    normal(0, 0.02), the residual output projections scaled by 1/sqrt(2 n_layer), biases 0.

    >>> cfg = TransformerConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=4)
    >>> Transformer(cfg).params["h.0.attn.w_qkv"].shape
    (4, 12)
    """

    def __init__(self, config: TransformerConfig, seed: int = 0, dtype=np.float32):
        if not isinstance(config, TransformerConfig):
            raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a float type such as np.float32, got {dtype}")
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in self.param_shapes(config).items():
            if name.endswith(".g"):
                params[name] = np.ones(shape, dtype=dtype)
            elif name.endswith((".b", ".b_qkv", ".b_fc", ".b_proj")):
                params[name] = np.zeros(shape, dtype=dtype)
            else:
                std = 0.02
                if name.endswith(".w_proj"):  # writes into the residual stream
                    std /= math.sqrt(2 * config.n_layer)
                params[name] = (rng.standard_normal(shape) * std).astype(dtype)
        self._setup(config, params, metadata={})

    def _setup(self, config: TransformerConfig, params: dict, metadata: dict) -> None:
        self.config = config
        self.params = params
        self.metadata = metadata
        self.dtype = params["wte"].dtype
        self.mask = causal_mask(config.block_size, self.dtype)

    @staticmethod
    def param_shapes(config: TransformerConfig) -> dict:
        """Name -> shape of every parameter the config implies, in a fixed order."""
        V, C, T = config.vocab_size, config.n_embd, config.block_size
        shapes = {"wte": (V, C), "wpe": (T, C)}
        for i in range(config.n_layer):
            p = f"h.{i}."
            shapes.update({
                p + "ln1.g": (C,), p + "ln1.b": (C,),
                p + "attn.w_qkv": (C, 3 * C), p + "attn.b_qkv": (3 * C,),
                p + "attn.w_proj": (C, C), p + "attn.b_proj": (C,),
                p + "ln2.g": (C,), p + "ln2.b": (C,),
                p + "mlp.w_fc": (C, 4 * C), p + "mlp.b_fc": (4 * C,),
                p + "mlp.w_proj": (4 * C, C), p + "mlp.b_proj": (C,),
            })  # fmt: skip
        shapes.update({"ln_f.g": (C,), "ln_f.b": (C,)})
        if not config.tie_weights:
            shapes["lm_head"] = (V, C)
        return shapes

    # ------------------------------------------------------------------ properties

    @property
    def vocab_size(self) -> int:
        """Number of token ids V."""
        return self.config.vocab_size

    @property
    def block_size(self) -> int:
        """Longest context (in tokens) the model can read."""
        return self.config.block_size

    def num_params(self) -> int:
        """Total number of parameters (a tied head is counted once)."""
        return sum(p.size for p in self.params.values())

    def astype(self, dtype) -> Transformer:
        """A copy of the model with every parameter cast to `dtype` (e.g. np.float64)."""
        params = {name: p.astype(dtype) for name, p in self.params.items()}
        model = Transformer.__new__(Transformer)
        model._setup(self.config, params, dict(self.metadata))
        return model

    def _head(self) -> np.ndarray:
        return self.params["wte"] if self.config.tie_weights else self.params["lm_head"]

    def _check_ids(self, ids) -> tuple[np.ndarray, bool]:
        """Validated ids as (B, T), and whether the caller gave a single (T,) sequence."""
        ids = check_token_ids(ids, self.vocab_size)
        single = ids.ndim == 1
        return (ids[None] if single else ids), single

    # ------------------------------------------------------------------ training pass

    def forward(self, ids):
        """Logits for every position, plus the cache that `backward` needs.

        ids (B, T) int with T <= block_size -> logits (B, T, V); a (T,) sequence gives (T, V).
        logits[b, t] scores the token that follows ids[b, :t+1].
        """
        ids, single = self._check_ids(ids)
        B, T = ids.shape
        if T > self.block_size:
            raise ValueError(
                f"sequence length {T} exceeds block_size {self.block_size}; "
                f"crop the context to its last {self.block_size} tokens"
            )
        P, C = self.params, self.config.n_embd
        x, emb_cache = embedding_forward(ids, P["wte"], P["wpe"])
        x = x.reshape(B * T, C)
        mask = self.mask[:T, :T]
        block_caches = []
        for i in range(self.config.n_layer):
            p = f"h.{i}."
            h, ln1 = layernorm_forward(x, P[p + "ln1.g"], P[p + "ln1.b"])
            a, attn = self_attention_forward(
                h, P[p + "attn.w_qkv"], P[p + "attn.b_qkv"], P[p + "attn.w_proj"],
                P[p + "attn.b_proj"], self.config.n_head, B, mask,
            )  # fmt: skip
            x = x + a
            h, ln2 = layernorm_forward(x, P[p + "ln2.g"], P[p + "ln2.b"])
            m, mlp = mlp_forward(
                h, P[p + "mlp.w_fc"], P[p + "mlp.b_fc"], P[p + "mlp.w_proj"], P[p + "mlp.b_proj"]
            )
            x = x + m
            block_caches.append((ln1, attn, ln2, mlp))
        h, ln_f = layernorm_forward(x, P["ln_f.g"], P["ln_f.b"])
        logits = (h @ self._head().T).reshape(B, T, self.vocab_size)
        cache = {"emb": emb_cache, "blocks": block_caches, "ln_f": ln_f, "h": h,
                 "shape": (B, T), "single": single}  # fmt: skip
        return (logits[0] if single else logits), cache

    def backward(self, dlogits, cache) -> dict:
        """Gradients of the loss w.r.t. every parameter, given dloss/dlogits from `forward`.

        dlogits has the shape of the logits `forward` returned, (B, T, V) or (T, V).
        Returns a dict with the same keys and shapes as `params`.
        """
        B, T = cache["shape"]
        V, C = self.vocab_size, self.config.n_embd
        expected = (T, V) if cache["single"] else (B, T, V)
        dlogits = np.asarray(dlogits)
        if dlogits.shape != expected:
            raise ValueError(
                f"dlogits has shape {dlogits.shape}, expected {expected} (the logits' shape)"
            )
        dlogits = dlogits.reshape(B * T, V).astype(self.dtype, copy=False)
        grads = {}
        head = self._head()
        dhead = dlogits.T @ cache["h"]
        dx, grads["ln_f.g"], grads["ln_f.b"] = layernorm_backward(dlogits @ head, cache["ln_f"])
        for i in reversed(range(self.config.n_layer)):
            p = f"h.{i}."
            ln1, attn, ln2, mlp = cache["blocks"][i]
            (dh, grads[p + "mlp.w_fc"], grads[p + "mlp.b_fc"], grads[p + "mlp.w_proj"],
             grads[p + "mlp.b_proj"]) = mlp_backward(dx, mlp)  # fmt: skip
            dres, grads[p + "ln2.g"], grads[p + "ln2.b"] = layernorm_backward(dh, ln2)
            dx += dres
            (dh, grads[p + "attn.w_qkv"], grads[p + "attn.b_qkv"], grads[p + "attn.w_proj"],
             grads[p + "attn.b_proj"]) = self_attention_backward(dx, attn)  # fmt: skip
            dres, grads[p + "ln1.g"], grads[p + "ln1.b"] = layernorm_backward(dh, ln1)
            dx += dres
        dwte, grads["wpe"] = embedding_backward(dx.reshape(B, T, C), cache["emb"])
        if self.config.tie_weights:
            dwte += dhead
        else:
            grads["lm_head"] = dhead
        grads["wte"] = dwte
        return {name: grads[name] for name in self.params}

    def logits(self, ids) -> np.ndarray:
        """ids (B, T) -> logits (B, T, V); a (T,) sequence gives (T, V)."""
        return self.forward(ids)[0]

    def attention_weights(self, ids) -> np.ndarray:
        """Every head's attention probabilities: ids (T,) -> weights (n_layer, n_head, T, T).

        weights[l, h, t, s] is how much position t reads position s in head h of layer l: each row
        sums to 1, and everything above the diagonal is 0 (the causal mask).
        """
        if np.ndim(ids) != 1:
            raise ValueError(f"attention_weights takes one sequence of ids (T,), got shape "
                             f"{np.shape(ids)}")  # fmt: skip
        _, cache = self.forward(ids)
        # attention cache: (qkv, (q, k, v, weights, y, scale), ...), weights (1, H, T, T)
        return np.stack([attention[1][3][0] for _, attention, _, _ in cache["blocks"]])

    # ------------------------------------------------------------------ generation

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty key/value cache for decoding `batch_size` sequences with `forward_cached`."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        cfg = self.config
        shape = (batch_size, cfg.n_head, cfg.block_size, cfg.n_embd // cfg.n_head)
        return KVCache(
            keys=[np.zeros(shape, dtype=self.dtype) for _ in range(cfg.n_layer)],
            values=[np.zeros(shape, dtype=self.dtype) for _ in range(cfg.n_layer)],
        )

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
        ids, single = self._check_ids(ids_new)
        B, t = ids.shape
        cfg = self.config
        if not isinstance(kv, KVCache):
            raise TypeError(f"kv must be a KVCache from new_kv_cache(), got {type(kv).__name__}")
        expected_shape = (kv.batch_size, cfg.n_head, cfg.block_size, cfg.n_embd // cfg.n_head)
        if len(kv.keys) != cfg.n_layer or kv.keys[0].shape != expected_shape:
            raise ValueError("this KVCache was made for a different model; use new_kv_cache()")
        if B != kv.batch_size:
            raise ValueError(f"ids_new has batch size {B}, but the cache holds {kv.batch_size}")
        L = kv.length
        if L + t > cfg.block_size:
            raise ValueError(
                f"the cache holds {L} tokens and {t} more would exceed block_size "
                f"{cfg.block_size}; start a new cache with a context of at most "
                f"{cfg.block_size} tokens"
            )
        P, C = self.params, cfg.n_embd
        x = embedding_forward(ids, P["wte"], P["wpe"], start=L)[0].reshape(B * t, C)
        mask = self.mask[L : L + t, : L + t]
        for i in range(cfg.n_layer):
            p = f"h.{i}."
            h = layernorm_forward(x, P[p + "ln1.g"], P[p + "ln1.b"])[0]
            qkv = linear_forward(h, P[p + "attn.w_qkv"], P[p + "attn.b_qkv"])[0]
            q, k, v = (split_heads(qkv[:, j * C : (j + 1) * C], B, cfg.n_head) for j in range(3))
            kv.keys[i][:, :, L : L + t] = k
            kv.values[i][:, :, L : L + t] = v
            y = attention_forward(q, kv.keys[i][:, :, : L + t], kv.values[i][:, :, : L + t],
                                  mask)[0]  # fmt: skip
            x = x + linear_forward(merge_heads(y), P[p + "attn.w_proj"], P[p + "attn.b_proj"])[0]
            h = layernorm_forward(x, P[p + "ln2.g"], P[p + "ln2.b"])[0]
            x = x + mlp_forward(h, P[p + "mlp.w_fc"], P[p + "mlp.b_fc"], P[p + "mlp.w_proj"],
                                P[p + "mlp.b_proj"])[0]  # fmt: skip
        kv.length = L + t
        h = layernorm_forward(x, P["ln_f.g"], P["ln_f.b"])[0]
        logits = (h @ self._head().T).reshape(B, t, self.vocab_size)
        return logits[0] if single else logits

    def next_token_probs(self, context) -> np.ndarray:
        """Probabilities (V,) float64 of the next token after `context` (a sequence of ids).

        Only the last block_size tokens are read.
        """
        ids = check_token_ids(context, self.vocab_size)
        if ids.ndim != 1:
            raise ValueError(f"context must be one sequence (T,), got shape {ids.shape}")
        logits = self.logits(ids[-self.block_size :])[-1].astype(np.float64)
        probs = np.exp(logits - logits.max())
        return probs / probs.sum()

    # ------------------------------------------------------------------ checkpoints

    def save(self, path, metadata: dict | None = None) -> None:
        """Write the weights to `path.npz` and the config (+ `metadata`) to `path.json`.

        metadata: any JSON-ready dict (e.g. training record); it defaults to `self.metadata`
        and is available as `model.metadata` after `Transformer.load(path)`.
        """
        base = _checkpoint_base(path)
        metadata = dict(self.metadata if metadata is None else metadata)
        header = {"format": CHECKPOINT_FORMAT, "config": self.config.to_dict(),
                  "dtype": str(self.dtype), "metadata": metadata}  # fmt: skip
        try:
            text = json.dumps(header, indent=2)
        except TypeError as err:
            raise TypeError(f"metadata must be JSON-serialisable: {err}") from None
        base.parent.mkdir(parents=True, exist_ok=True)
        np.savez(base.with_name(base.name + ".npz"), **self.params)
        base.with_name(base.name + ".json").write_text(text + "\n", encoding="utf-8")
        self.metadata = metadata

    @classmethod
    def load(cls, path) -> Transformer:
        """Load a model written by `save`; `path` may end in .npz, .json or neither.

        Raises FileNotFoundError for a missing file and ValueError for a corrupt checkpoint or
        one whose weights do not match its config.
        """
        base = _checkpoint_base(path)
        json_path = base.with_name(base.name + ".json")
        npz_path = base.with_name(base.name + ".npz")
        for file in (json_path, npz_path):
            if not file.exists():
                raise FileNotFoundError(
                    f"checkpoint file {file} is missing: a checkpoint is a pair "
                    f"{base.name}.npz (weights) + {base.name}.json (config)"
                )
        try:
            header = json.loads(json_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{json_path} is not valid JSON ({err})") from None
        if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
            raise ValueError(f"{json_path} must hold a JSON object with a 'config' object")
        try:
            config = TransformerConfig.from_dict(header["config"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{json_path} has an invalid config: {err}") from None
        metadata = header.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ValueError(f"{json_path}: 'metadata' must be an object, got {metadata!r}")
        try:
            with np.load(npz_path, allow_pickle=False) as archive:
                params = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"{npz_path} is not a readable .npz weights file ({err})") from None
        expected = cls.param_shapes(config)
        missing = [name for name in expected if name not in params]
        unexpected = sorted(set(params) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"{npz_path} does not match its config: missing weights {missing}, "
                f"unexpected weights {unexpected}"
            )
        dtypes = {p.dtype for p in params.values()}
        if len(dtypes) != 1 or not np.issubdtype(next(iter(dtypes)), np.floating):
            raise ValueError(f"{npz_path}: weights must share one float dtype, got {dtypes}")
        for name, shape in expected.items():
            if params[name].shape != shape:
                raise ValueError(
                    f"{npz_path}: weight {name!r} has shape {params[name].shape}, "
                    f"but the config expects {shape}"
                )
        model = cls.__new__(cls)
        model._setup(config, {name: params[name] for name in expected}, metadata)
        return model


def _checkpoint_base(path) -> Path:
    """`path` without a .npz/.json suffix: the common stem of a checkpoint's two files."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".npz", ".json") else path
