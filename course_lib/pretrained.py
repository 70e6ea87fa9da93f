"""The course's shipped base model: a small transformer pre-trained on the embedded corpus.

`scripts/pretrain.py` trains it (deterministic, one command: `make pretrain`) and writes the files
in `course_lib/weights/`: the weights (`base_model.npz`), the config and training record
(`base_model.json`) and the BPE tokenizer (`tokenizer.json`). Nothing is downloaded.

>>> model, tokenizer = load_base_model()           # doctest: +SKIP
>>> generate_text(model, tokenizer, "The capital of France is", temperature=0)  # doctest: +SKIP
' Paris.'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .corpus import default_corpus, train_val_split
from .tokenizers import Tokenizer, load_tokenizer
from .training import evaluate
from .transformer import Transformer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_PATH = WEIGHTS_DIR / "base_model"
TOKENIZER_PATH = WEIGHTS_DIR / "tokenizer.json"


def load_base_model() -> tuple[Transformer, Tokenizer]:
    """The pre-trained base model and its tokenizer, loaded from the package's own files."""
    if not TOKENIZER_PATH.exists():
        raise FileNotFoundError(
            f"the base model's tokenizer is missing: {TOKENIZER_PATH}. "
            "Run `make pretrain` to train the base model again."
        )
    return Transformer.load(MODEL_PATH), load_tokenizer(TOKENIZER_PATH)


def validation_windows(tokenizer: Tokenizer, block_size: int) -> np.ndarray:
    """The default corpus's validation split as non-overlapping windows, (N, block_size + 1).

    Each row holds block_size inputs and, shifted by one, block_size targets.
    """
    _, validation_text = train_val_split(default_corpus())
    tokens = np.asarray(tokenizer.encode(validation_text), dtype=np.int64)
    n_windows = (len(tokens) - 1) // block_size
    starts = np.arange(n_windows) * block_size
    return tokens[starts[:, None] + np.arange(block_size + 1)]


def validation_loss(model: Transformer, tokenizer: Tokenizer, batch_size: int = 32) -> float:
    """Mean next-token loss (nats) of `model` on the validation split of the default corpus."""
    windows = validation_windows(tokenizer, model.block_size)
    batches = [windows[start : start + batch_size] for start in range(0, len(windows), batch_size)]
    return evaluate(model, [(batch[:, :-1], batch[:, 1:]) for batch in batches])
