"""Benchmark the numpy transformer against the machine's matmul speed.

Prints, in one run:
  1. float32 matmul GFLOPS of a plain large square matmul (the practical peak for numpy);
  2. forward+backward throughput of the model (tokens/s and effective GFLOPS) and its ratio
     to the matmul peak;
  3. generation speed: tokens/s with the key/value cache vs recomputing the whole context;
  4. the shipped base model: seconds to load it and generate 200 tokens with generate_text.

FLOP estimate for one training step (forward + backward), per token:
    6 * N_matmul  +  12 * n_layer * T * n_embd
where N_matmul counts the weights used in matrix products (12 n_embd^2 per block plus the
V x n_embd output head) and the second term is attention (q k^T and att v, full T x T).

Usage:  .venv/bin/python scripts/bench_model.py [--steps 10] [--vocab 1024] [--batch 16] ...
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from course_lib.transformer import Transformer, TransformerConfig


def best_time(fn, repeats: int) -> float:
    """Fastest of `repeats` timed calls of fn() (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOPS of an (n, n) @ (n, n) float32 matmul."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return 2 * n**3 / best_time(lambda: a @ b, repeats) / 1e9


def train_step_flops(config: TransformerConfig, batch_size: int) -> float:
    """Estimated FLOPs of one forward+backward pass on a (batch_size, block_size) batch."""
    C, T = config.n_embd, config.block_size
    n_matmul = 12 * C * C * config.n_layer + config.vocab_size * C
    per_token = 6 * n_matmul + 12 * config.n_layer * T * C
    return per_token * batch_size * T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--embd", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    parser.add_argument("--gen-tokens", type=int, default=200)
    args = parser.parse_args()

    peak = matmul_gflops()
    print(f"matmul peak (2048^3 float32):     {peak:7.1f} GFLOPS")

    config = TransformerConfig(
        vocab_size=args.vocab, block_size=args.block, n_layer=args.layers,
        n_head=args.heads, n_embd=args.embd,
    )  # fmt: skip
    model = Transformer(config, seed=0)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, config.vocab_size, size=(args.batch, config.block_size))
    dlogits = rng.standard_normal((args.batch, config.block_size, config.vocab_size))
    dlogits = dlogits.astype(np.float32) / dlogits.size

    def step():
        _, cache = model.forward(ids)
        model.backward(dlogits, cache)

    seconds = best_time(step, args.steps)
    tokens = args.batch * config.block_size
    gflops = train_step_flops(config, args.batch) / seconds / 1e9
    print(f"model: {model.num_params():,} params, batch {args.batch} x {config.block_size} tokens")
    print(f"forward+backward: {seconds * 1e3:7.1f} ms/step  {tokens / seconds:9.0f} tokens/s  "
          f"{gflops:6.1f} GFLOPS  = {gflops / peak:5.1%} of matmul peak")  # fmt: skip
    forward_seconds = best_time(lambda: model.logits(ids), args.steps)
    print(f"forward only:     {forward_seconds * 1e3:7.1f} ms/step  "
          f"{tokens / forward_seconds:9.0f} tokens/s")  # fmt: skip

    n_new = args.gen_tokens
    seq = rng.integers(0, config.vocab_size, size=(1, n_new + 1))  # seq[:, 0] is the prompt
    keep = config.block_size // 2

    def generate_cached():
        # A full cache restarts from the last block_size // 2 tokens (a sliding window).
        kv = model.new_kv_cache(1)
        model.forward_cached(seq[:, :1], kv)
        for i in range(1, n_new):
            if kv.length == config.block_size:
                kv = model.new_kv_cache(1)
                model.forward_cached(seq[:, i - keep : i], kv)
            model.forward_cached(seq[:, i : i + 1], kv)

    def generate_recompute():
        for i in range(1, n_new + 1):
            model.logits(seq[:, max(0, i - config.block_size) : i])

    cached = best_time(generate_cached, 3)
    full = best_time(generate_recompute, 3)
    print(f"generation of {n_new} tokens (batch 1, block_size {config.block_size}):")
    print(f"  with KV cache:   {n_new / cached:8.0f} tokens/s")
    print(f"  recompute all:   {n_new / full:8.0f} tokens/s   "
          f"(cache speed-up x{full / cached:.1f})")  # fmt: skip
    shipped_model_figures()


def shipped_model_figures() -> None:
    """Load the shipped base model and generate 200 tokens, as a learner's first cell does."""
    from course_lib.pretrained import load_base_model
    from course_lib.sampling import generate_text

    start = time.perf_counter()
    model, tokenizer = load_base_model()
    loaded = time.perf_counter()
    generate_text(model, tokenizer, "Once upon a time", max_new_tokens=200, stop_at_eos=False)
    done = time.perf_counter()
    print(f"shipped base model: load {loaded - start:.2f} s, generate 200 tokens "
          f"{done - loaded:.2f} s, total {done - start:.2f} s")


if __name__ == "__main__":
    main()
