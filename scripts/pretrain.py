"""Train the course's shipped base model on the embedded corpus (deterministic; `make pretrain`).

Steps: generate the default corpus, split it, train a byte-level BPE tokenizer on the training
split, pre-train a small transformer on random windows, measure its validation loss, and write
`course_lib/weights/{base_model.npz, base_model.json, tokenizer.json}`.

    python scripts/pretrain.py                 # the shipped model
    python scripts/pretrain.py --steps 200     # a quick rehearsal

Each batch is shared by two worker processes (--workers 2), each with one BLAS thread, so that
a run is deterministic on a given machine and uses two cores.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

from course_lib.corpus import default_corpus, train_val_split
from course_lib.data import random_windows
from course_lib.pretrained import WEIGHTS_DIR, validation_loss, validation_windows
from course_lib.tokenizers import BPETokenizer
from course_lib.training import evaluate, train
from course_lib.transformer import Transformer, TransformerConfig


def sentence_starts(text: str, margin: int) -> np.ndarray:
    """Character offsets where a sentence or a line begins (a capital letter), at least `margin`
    characters before the end of the text."""
    starts = [m.start() for m in re.finditer(r"(?:(?<=[.!?] )|(?<=\n))[A-Z]", text)]
    return np.array([s for s in starts if s < len(text) - margin])


def prompt_like_windows(text, starts, tokenizer, batch_size: int, block_size: int, rng):
    """Windows that begin where a sentence begins, encoded as a prompt is: x, y (B, block_size).

    Random windows start anywhere, so a sentence in them always starts with a space (" A dog has").
    A learner's prompt ("A dog has") starts with no space: the model must also see text that does.
    """
    chars = 8 * (block_size + 1)  # a token is ~3.5 characters on average: enough text per window
    rows = [tokenizer.encode(text[s : s + chars])[: block_size + 1]
            for s in rng.choice(starts, size=batch_size)]
    batch = np.array(rows, dtype=np.int64)
    return batch[:, :-1], batch[:, 1:]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=1024)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--workers", type=int, default=2,
                        help="processes sharing each batch (course_lib.data_parallel); 1: none")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    started = time.perf_counter()

    train_text, _ = train_val_split(default_corpus())
    tokenizer = BPETokenizer.train(train_text, vocab_size=args.vocab_size)
    train_tokens = np.asarray(tokenizer.encode(train_text), dtype=np.int64)
    print(f"tokenizer: {tokenizer.vocab_size} tokens; training split: {len(train_tokens):,} tokens "
          f"({time.perf_counter() - started:.1f} s)")

    config = TransformerConfig(
        vocab_size=tokenizer.vocab_size,
        block_size=args.block_size,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
    )
    model = Transformer(config, seed=args.seed)
    print(f"model: {model.num_params():,} parameters")

    rng = np.random.default_rng(args.seed)
    held_out = validation_windows(tokenizer, args.block_size)[:16]

    starts = sentence_starts(train_text, margin=8 * (args.block_size + 1))

    def get_batch(step):
        """Half random windows of the token stream, half windows that start like a prompt."""
        half = args.batch_size // 2
        x1, y1 = random_windows(train_tokens, args.batch_size - half, args.block_size, rng)
        x2, y2 = prompt_like_windows(train_text, starts, tokenizer, half, args.block_size, rng)
        return np.concatenate([x1, x2]), np.concatenate([y1, y2])

    def eval_fn(model):
        return evaluate(model, [(held_out[:, :-1], held_out[:, 1:])])

    history = train(
        model,
        get_batch,
        args.steps,
        lr=args.lr,
        warmup_steps=max(1, args.steps // 20),
        min_lr=args.lr / 10,
        eval_fn=eval_fn,
        eval_every=max(1, args.steps // 10),
        workers=args.workers,
    )
    train_seconds = time.perf_counter() - started
    loss = validation_loss(model, tokenizer)
    baseline = np.log(config.vocab_size)
    print(f"validation loss {loss:.4f} nats/token (uniform baseline {baseline:.3f}); "
          f"trained in {train_seconds / 60:.1f} min")

    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(args.out / "tokenizer.json")
    model.save(
        args.out / "base_model",
        metadata={
            "validation_loss": round(loss, 5),
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "workers": args.workers,
            "train_seconds": round(train_seconds, 1),
            "train_loss_last": round(float(np.mean(history.train_loss[-20:])), 5),
        },
    )
    print(f"wrote {args.out}/base_model.npz, base_model.json, tokenizer.json")


if __name__ == "__main__":
    main()
