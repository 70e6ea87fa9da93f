"""Benchmark the numpy transformer: training steps, the machine's matmul peak, cached decoding.

Prints, in one run:
  1. the BLAS library and kernel numpy uses (threadpoolctl, if installed), and numpy's float32
     GEMM peak: the best GFLOP/s of a plain (2048, 2048) @ (2048, 2048) product;
  2. ms per training step (forward, loss, backward, AdamW: `training.train_step`) for nanoGPT's
     "baby GPT" shape (4 layers, 4 heads, 128 features, block 64, batch 12, 65 characters) and
     for the shipped base model's shape (its config, batch 32 as in `make pretrain`), with the
     GFLOP/s they reach; the same step with its batch shared by two worker processes
     (course_lib.data_parallel); with --compare-with REV also the code at git revision REV (its
     2-worker step too, if it has one), and the speed-ups; the same shapes through the plain
     model (transformer.py's own forward and backward, without course_lib.fast), the fast
     step's time by phase, and the time of its matrix products alone (the floor left when all
     element-wise work is free); with PyTorch installed (`pip install torch`, never a course
     dependency) also PyTorch eager on the CPU, and the 2-worker step's time against it;
  3. element-wise work (GELU) on two threads against one;
  4. cached generation: ms per new token at contexts 16, 64, 128 and 256 (a model of the
     shipped shape with block_size 256), and the shipped model's load + 200-token generation.

Timings on a shared machine are noisy: every figure is the best of --repeats rounds, and the
implementations alternate within each round, so their ratio is measured under the same load.
A ratio of two bests rests on each one's single luckiest round, so the median of the rounds'
own ratios (each from neighbouring processes) is printed beside it.
Each implementation runs in a process of its own (a fresh interpreter per round), so one's
settings (threads, memory) cannot change another's.

FLOP estimate for one training step (forward + backward), per token:
    6 * N_matmul  +  12 * n_layer * T * n_embd
where N_matmul counts the weights used in matrix products (12 n_embd^2 per block plus the
V x n_embd output head) and the second term is attention (q k^T and att v, full T x T).

OpenBLAS picks its kernel for the CPU unless OPENBLAS_CORETYPE forces one; this script removes
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from its own environment before numpy loads (pass
--keep-openblas-env to keep them). --avx2 runs everything as on a CPU without AVX-512, through
the libraries' own switches (AVX2_ONLY): OpenBLAS's Haswell kernel, numpy's loops without their
AVX-512 versions, PyTorch's AVX2 kernels; the header shows the kernel and numpy's SIMD levels.

Usage:  .venv/bin/python scripts/bench_model.py [--compare-with 94fd8e4] [--repeats 7] [--avx2]
"""

from __future__ import annotations

import os
import sys

AVX2_ONLY = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
             "MKL_ENABLE_INSTRUCTIONS": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2",
             # numpy >= 2.4's names, then the older ones (each version ignores the other's)
             "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512CD "
                                         "AVX512_SKX AVX512_CLX AVX512_CNL"}  # fmt: skip
if "--worker" not in sys.argv:  # before numpy loads OpenBLAS; the worker processes inherit it
    if "--keep-openblas-env" not in sys.argv:
        for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            os.environ.pop(variable, None)
    if "--avx2" in sys.argv:
        os.environ.update(AVX2_ONLY)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BABY_GPT = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, batch=12)
CONTEXTS = (16, 64, 128, 256)


def best_of(fn, repeats: int) -> float:
    """Fastest of `repeats` timed calls of fn() (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an (n, n) @ (n, n) float32 matmul."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return 2 * n**3 / best_of(lambda: a @ b, repeats) / 1e9


def step_flops(shape: dict) -> float:
    """Estimated FLOPs of one forward+backward pass on a (batch, block_size) batch."""
    C, T, L = shape["n_embd"], shape["block_size"], shape["n_layer"]
    n_matmul = 12 * C * C * L + shape["vocab_size"] * C
    return (6 * n_matmul + 12 * L * T * C) * shape["batch"] * T


def matrix_products(shape: dict):
    """A closure doing the matrix products of one fast training step and nothing else, at the
    step's shapes: each linear layer's forward product and its two backward ones, attention's
    batched products (2 forward, 4 backward), the output head's three; float32, as training.
    Its time is the floor the step's element-wise work, Python and allocation add to."""
    B, T, C, H, V = (shape[k] for k in ("batch", "block_size", "n_embd", "n_head", "vocab_size"))
    N, d = B * T, C // H
    rng = np.random.default_rng(0)

    def array(*dims):
        return rng.standard_normal(dims, dtype=np.float32)

    linear = [(array(N, c_in), array(c_in, c_out), array(N, c_out))  # x, w, dy
              for c_in, c_out in ((C, 3 * C), (C, C), (C, 4 * C), (4 * C, C))]
    q, k, dy_r = array(B, H, T, d), array(B, H, T, d), array(B, H, T, d + 1)
    att, v_t = array(B, H, T, T), array(B, H, d + 1, T)
    h, head, dlogits = array(N, C), array(V, C), array(N, V)

    def products():
        for _ in range(shape["n_layer"]):
            for x, w, dy in linear:
                x @ w, dy @ w.T, x.T @ dy                      # forward, dx, dw
            q @ k.swapaxes(-1, -2), att @ q                     # scores, att @ v
            att.swapaxes(-1, -2) @ q, dy_r @ v_t, att @ k, att.swapaxes(-1, -2) @ q  # backward
        h @ head.T, dlogits.T @ h, dlogits @ head               # the head

    return products


def extract_course_lib(revision: str, workdir: Path) -> Path:
    """A directory holding course_lib as it was at git `revision` (via git archive)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "course_lib"],
                             check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
    return workdir


def numpy_step(root: Path, shape: dict, path: str = "fast"):
    """A training-step closure of the Transformer of the course_lib found in directory `root`:
    `training.train_step` ("fast"), the same with two worker processes ("parallel":
    `train(..., workers=2)`), or the model's own plain forward and backward ("plain")."""
    sys.path.insert(0, str(root))
    from course_lib import losses, optim, training, transformer

    assert Path(transformer.__file__).is_relative_to(root), transformer.__file__
    config = {k: v for k, v in shape.items() if k != "batch"}
    model = transformer.Transformer(transformer.TransformerConfig(**config), seed=0)
    optimizer = optim.AdamW(model.params, lr=1e-4)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, shape["vocab_size"], size=(shape["batch"], shape["block_size"] + 1))
    x, y = tokens[:, :-1], tokens[:, 1:]
    if path == "fast":
        return lambda: training.train_step(model, (x, y), optimizer, lr=1e-4)
    if path == "parallel":  # its worker processes end with this process
        from course_lib.data_parallel import DataParallel

        parallel = DataParallel(model, workers=2)
        return lambda: training.train_step(model, (x, y), optimizer, lr=1e-4, parallel=parallel)

    def plain_step():
        logits, cache = model.forward(x)
        grads = model.backward(losses.cross_entropy_grad(logits, y), cache)
        optim.clip_grad_norm(grads, 1.0)
        optimizer.step(grads, lr=1e-4)

    return plain_step


def phase_times(shape: dict, repeats: int) -> dict:
    """Best seconds of each phase of this checkout's fast training step: forward, loss,
    backward, clipping, AdamW (a profile by phase)."""
    from course_lib import fast, optim, transformer

    config = {k: v for k, v in shape.items() if k != "batch"}
    model = transformer.Transformer(transformer.TransformerConfig(**config), seed=0)
    optimizer = optim.AdamW(model.params, lr=1e-4)
    tokens = np.random.default_rng(0).integers(0, shape["vocab_size"],
                                               size=(shape["batch"], shape["block_size"] + 1))
    x, y = tokens[:, :-1], tokens[:, 1:]
    fast.keep_freed_memory()
    logits, cache = fast.forward(model, x)
    _, dlogits = fast.cross_entropy_and_grad(logits, y)
    grads = fast.backward(model, dlogits, cache)
    return {"forward": best_of(lambda: fast.forward(model, x), repeats),
            "loss and its gradient": best_of(lambda: fast.cross_entropy_and_grad(logits, y),
                                             repeats),
            "backward": best_of(lambda: fast.backward(model, dlogits, cache), repeats),
            "clipping": best_of(lambda: optim.clip_grad_norm(grads, 1e9), repeats),
            "AdamW": best_of(lambda: optimizer.step(grads, lr=1e-4), repeats)}  # fmt: skip


def torch_step(shape: dict):
    """The same step in PyTorch eager (a minimal GPT-2 block stack), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from torch import nn
    from torch.nn import functional as F

    C, H, T, V = shape["n_embd"], shape["n_head"], shape["block_size"], shape["vocab_size"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.fc, self.fc_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

        def forward(self, x):
            B = x.shape[0]
            q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
            self.blocks = nn.ModuleList(Block() for _ in range(shape["n_layer"]))
            self.ln_f = nn.LayerNorm(C)

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(T))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x) @ self.wte.weight.T

    torch.manual_seed(0)
    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, V, (shape["batch"], T + 1))
    x, y = tokens[:, :-1], tokens[:, 1:]

    def step():
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def worker(kind: str, shape: dict, root: str | None, steps: int) -> None:
    """Run in a fresh process: print the best seconds of `steps` timed training steps."""
    step = torch_step(shape) if kind == "torch" else numpy_step(Path(root), shape, kind)
    print(json.dumps(best_of(step, steps)))


def time_in_processes(implementations: dict, shape: dict, repeats: int, steps: int) -> dict:
    """Seconds per step of each implementation (name -> worker arguments) in each round: name ->
    list of `repeats` times, the implementations taking turns within a round."""
    times = {name: [] for name in implementations}
    for _ in range(repeats):
        for name, (kind, root) in implementations.items():
            command = [sys.executable, __file__, "--worker", kind, "--shape", json.dumps(shape),
                       "--steps", str(steps)] + (["--root", str(root)] if root else [])
            result = subprocess.run(command, check=True, capture_output=True, text=True,
                                    cwd=root or REPO)  # a worker's `python -m` finds root's
            times[name].append(json.loads(result.stdout.splitlines()[-1]))
    return times


def training_figures(title: str, shape: dict, old_root: Path | None, args) -> None:
    implementations = {"course_lib (this checkout)": ("fast", REPO),
                       "the same, 2 worker processes": ("parallel", REPO),
                       "its plain model (no fast.py)": ("plain", REPO)}
    if old_root is not None:
        implementations[f"course_lib at {args.compare_with}"] = ("fast", old_root)
        if (old_root / "course_lib" / "data_parallel.py").exists():
            implementations[f"2 workers at {args.compare_with}"] = ("parallel", old_root)
    if importlib.util.find_spec("torch") is not None:
        implementations["PyTorch eager (CPU)"] = ("torch", None)
    times = time_in_processes(implementations, shape, args.repeats, args.steps)
    best = {name: min(seconds) for name, seconds in times.items()}
    flops = step_flops(shape)
    print(f"\n{title}: {shape['n_layer']} layers, {shape['n_head']} heads, {shape['n_embd']} "
          f"features, block {shape['block_size']}, batch {shape['batch']}, vocabulary "
          f"{shape['vocab_size']}; {flops / 1e9:.2f} GFLOP per step")  # fmt: skip
    ours = best["course_lib (this checkout)"]
    for name, seconds in best.items():
        paired = np.median(np.divide(times[name], times["course_lib (this checkout)"]))
        ratio = "" if seconds == ours else (f"   this checkout is x{seconds / ours:.2f} as fast"
                                            f" (median of the rounds: x{paired:.2f})")
        print(f"  {name:28s} {seconds * 1e3:7.1f} ms/step  {flops / seconds / 1e9:6.1f} GFLOP/s"
              f"{ratio}")  # fmt: skip
    workers = "the same, 2 worker processes"
    for other in (f"2 workers at {args.compare_with}", "PyTorch eager (CPU)"):
        if other in times:
            paired = np.median(np.divide(times[workers], times[other]))
            print(f"  2 workers take x{best[workers] / best[other]:.2f} the time of {other} "
                  f"(median of the rounds: x{paired:.2f})")  # fmt: skip
    phases = phase_times(shape, args.steps)
    print("  this checkout's step by phase (best of each): " + ", ".join(
        f"{name} {seconds * 1e3:.1f} ms" for name, seconds in phases.items()))  # fmt: skip
    floor = best_of(matrix_products(shape), args.steps)
    print(f"  the step's matrix products alone: {floor * 1e3:.1f} ms, {flops / floor / 1e9:.1f} "
          f"GFLOP/s ({floor / ours:.0%} of this checkout's step)")


def threads_figure(repeats: int) -> None:
    """Element-wise work on two threads against one (why course_lib.data_parallel uses
    processes): fast.gelu_forward on the two halves of the baby GPT's MLP activations (768,
    512), ten times each, one half per thread or both in turn."""
    from concurrent.futures import ThreadPoolExecutor

    from course_lib import fast

    rows = BABY_GPT["batch"] * BABY_GPT["block_size"]
    halves = np.split(np.random.default_rng(0).standard_normal(
        (rows, 4 * BABY_GPT["n_embd"]), dtype=np.float32), 2)  # fmt: skip

    def ten_gelus(x):
        for _ in range(10):
            fast.gelu_forward(x)

    with ThreadPoolExecutor(2) as pool:
        one = best_of(lambda: [ten_gelus(half) for half in halves], repeats)
        two = best_of(lambda: list(pool.map(ten_gelus, halves)), repeats)
    print(f"\nGELU on both halves of the baby GPT's activations, 10 times: one thread "
          f"{one * 1e3:.1f} ms, two threads {two * 1e3:.1f} ms (x{two / one:.2f} the time)")


def generation_figures(repeats: int) -> None:
    """ms per cached decoding step (one new token) at several context lengths."""
    from course_lib.pretrained import MODEL_PATH
    from course_lib.transformer import Transformer, TransformerConfig

    shipped = Transformer.load(MODEL_PATH).config.to_dict()
    model = Transformer(TransformerConfig(**{**shipped, "block_size": max(CONTEXTS)}), seed=0)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, model.vocab_size, size=(1, max(CONTEXTS)))
    print(f"\ncached generation (shipped shape, block_size {model.block_size}), ms per token:")
    times = {}
    for context in CONTEXTS:
        kv = model.new_kv_cache(1)
        model.forward_cached(ids[:, : context - 1], kv)  # the context before the new token

        def one_token(kv=kv, context=context):
            kv.length = context - 1
            model.forward_cached(ids[:, context - 1 : context], kv)

        times[context] = best_of(one_token, 20 * repeats)
    for context, seconds in times.items():
        print(f"  context {context:4d}: {seconds * 1e3:6.3f} ms/token   "
              f"x{seconds / times[CONTEXTS[0]]:.2f} the time at {CONTEXTS[0]}")  # fmt: skip
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-with", metavar="REV",
                        help="also time course_lib at this git revision (e.g. 94fd8e4)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (processes) per figure")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (removed by default)")
    parser.add_argument("--avx2", action="store_true",
                        help="run as on a CPU without AVX-512 (OpenBLAS, numpy and PyTorch)")
    parser.add_argument("--worker", choices=["fast", "parallel", "plain", "torch"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, json.loads(args.shape), args.root, args.steps)

    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(f"BLAS: {pool['internal_api']} {pool.get('version')}, kernel "
                  f"{pool.get('architecture')}, {pool['num_threads']} threads")  # fmt: skip
    except ImportError:
        print("BLAS: (install threadpoolctl to see the library and its kernel)")
    try:
        from numpy._core import _multiarray_umath as umath  # numpy >= 2
    except ImportError:
        from numpy.core import _multiarray_umath as umath  # numpy 1.26
    simd = [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]
    print(f"numpy {np.__version__}, its SIMD loops for: {' '.join(simd)}")
    print(f"numpy float32 GEMM peak (2048^3): {gemm_gflops():.1f} GFLOP/s")

    from course_lib.pretrained import MODEL_PATH
    from course_lib.transformer import Transformer

    shipped = {**Transformer.load(MODEL_PATH).config.to_dict(), "batch": 32}
    shipped.pop("tie_weights")
    with tempfile.TemporaryDirectory() as workdir:
        old_root = extract_course_lib(args.compare_with, Path(workdir)) \
            if args.compare_with else None  # fmt: skip
        training_figures("baby GPT", BABY_GPT, old_root, args)
        training_figures("shipped model", shipped, old_root, args)
    threads_figure(args.repeats)
    generation_figures(args.repeats)


if __name__ == "__main__":
    main()
