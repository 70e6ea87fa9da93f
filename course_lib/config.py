"""The transformer's hyper-parameters, checked once, and the parameter shapes they imply.

>>> config = TransformerConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8)
>>> config.param_shapes()["h.0.attn.w_qkv"]
(8, 24)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from .checks import check_int, check_type


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
            setattr(self, name, check_int(getattr(self, name), f"config field {name}"))
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not isinstance(self.tie_weights, (bool, np.bool_)):
            raise TypeError(f"config field tie_weights must be a bool, got {self.tie_weights!r}")
        self.tie_weights = bool(self.tie_weights)

    def param_shapes(self) -> dict:
        """Name -> shape of every parameter, in a fixed order: "wte" (V, C), "wpe" (block_size,
        C), each block's "h.{i}." + block_shapes names, "ln_f.g" and "ln_f.b" (C,), and "lm_head"
        (V, C) when the weights are not tied."""
        V, C, T = self.vocab_size, self.n_embd, self.block_size
        shapes = {"wte": (V, C), "wpe": (T, C)}
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
            raise ValueError(
                f"unknown transformer config field(s) {unknown}; expected fields {sorted(known)}"
            )
        if "vocab_size" not in data:
            raise ValueError("transformer config is missing the required field 'vocab_size'")
        return cls(**data)


def block_shapes(C: int) -> dict:
    """Name -> shape of one block's parameters, for n_embd = C (the names after "h.{i}.")."""
    return {"ln1.g": (C,), "ln1.b": (C,), "attn.w_qkv": (C, 3 * C), "attn.b_qkv": (3 * C,),
            "attn.w_proj": (C, C), "attn.b_proj": (C,), "ln2.g": (C,), "ln2.b": (C,),
            "mlp.w_fc": (C, 4 * C), "mlp.b_fc": (4 * C,), "mlp.w_proj": (4 * C, C),
            "mlp.b_proj": (C,)}  # fmt: skip
