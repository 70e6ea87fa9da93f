"""Training on every core: each batch's sequences, and the update, shared out among processes.

numpy runs a training step's element-wise work (GELU, softmax, layer norm, the loss: about half the
step) on one core, and threads cannot share it out: each of its short calls holds Python's lock, so
two threads running GELU on halves of the baby GPT's activations took x1.16 the time of one thread
doing both (`scripts/bench_model.py`). Processes can. `DataParallel` starts `workers` Python
processes (`python -m course_lib.data_parallel`), each with a copy of the model and a BLAS of one
thread, and shares memory with them: files in /dev/shm that every process maps, holding the
parameters, each worker's gradients and AdamW's moments. A training step (`train_step`) takes
three rounds, each a request to every worker and its reply through the worker's stdin and stdout:

1. gradients: the main process hands each worker a share of the batch's sequences (the
   parameters are in the shared memory already: the model's `params` hold views of it); each
   writes its share's gradients (over the whole batch's count of predicted tokens) into its own
   row. A worker's error is raised here, before any change.
2. reduce: each worker owns an equal, contiguous share of the numbers of the shared memory (the
   parameters lie one after the other, the matrices first: `_layout`), and adds up the rows'
   gradients of its share: the whole batch's gradient, what `fast.loss_and_gradients` computes
   in one process, up to float32 rounding (tests/test_data_parallel.py); it replies with their
   sum of squares.
3. update: the main process turns the summed squares into clipping's factor
   (`optim.clip_factor`), and each worker makes AdamW's update of its share (the matrices'
   numbers decayed, the vectors' not, as `AdamW.step` does) with `fast.adamw_update`, in
   two calls over contiguous numbers rather than one per parameter. The model sees the new
   values at once: there is nothing to copy back.

Sharing the update out matters at small shapes: made once in the main process, AdamW was 3 ms of
the baby GPT's 36-ms step, with one core idle. `loss_and_gradients` makes only the first round and
adds the rows up itself.

`training.train(..., workers=2)` and `make pretrain` use it. Measured side by side on 2 cores
(`scripts/bench_model.py --compare-with bd7d589`, best of 7 rounds, 2026-12-07): the baby GPT's
step 42.7 ms in one process, 30.3 with two workers (x0.92 the time of the same with a share of
the update per parameter and the parameters copied in and out, the median of the rounds'
ratios; x0.80 of the update made in the main process, an earlier run); the shipped shape's
256.2 -> 170.5 ms.

Example:

>>> from course_lib.transformer import Transformer, TransformerConfig
>>> model = Transformer(TransformerConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1,
...                                       n_embd=8))
>>> x, y = np.array([[0, 1, 2, 3], [4, 3, 2, 1]]), np.array([[1, 2, 3, 4], [3, 2, 1, 0]])
>>> with DataParallel(model, workers=2) as parallel:
...     loss, grads = parallel.loss_and_gradients(x, y)
>>> one_process, _ = fast.loss_and_gradients(model, x, y)
>>> bool(abs(loss - one_process) < 1e-5), grads["wte"].shape
(True, (5, 8))
"""

from __future__ import annotations

import builtins
import json
import math
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

import numpy as np

from . import fast
from .losses import predicted_count
from .optim import AdamW, clip_factor
from .transformer import Transformer, TransformerConfig

# every BLAS numpy may be built with, held to one thread in a worker: the cores are the workers'
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LOG_LINES = 20  # of a worker's standard error, quoted when it stops


class DataParallel:
    """`workers` processes computing a model's loss and gradients, each on a share of a batch,
    and (train_step) its AdamW update, each on a share of the parameters.

    Start it where a training loop starts and close it after (or use `with`): the processes and
    the memory they share end with it. From the first call until closing, the model's parameter
    values live in the shared memory: `model.params` holds views of it, which the workers update
    in place (copying them out and in made 1.1 ms of the baby GPT's 33-ms step). An array put
    into `model.params` meanwhile is copied in at the next call; a change of shapes needs a new
    DataParallel. Closing copies the values into the model's own arrays and puts them back. An
    optimizer given to train_step keeps its moments in the shared memory from then on (its `m`
    and `v` hold views of it, which stay valid after closing).
    """

    def __init__(self, model: Transformer, workers: int = 2):
        if not isinstance(model, Transformer):
            raise TypeError(f"DataParallel needs a Transformer, got {type(model).__name__}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
        self.model = model
        self._shapes = _layout({name: p.shape for name, p in model.params.items()})
        self._folder = Path(tempfile.mkdtemp(prefix="llmf-workers-", dir=_memory_folder()))
        layout = {"config": model.config.to_dict(), "dtype": model.dtype.str, "workers": workers,
                  "shapes": {name: list(shape) for name, shape in self._shapes.items()}}
        (self._folder / "layout.json").write_text(json.dumps(layout))
        params, self._grads, moments = _shared_buffers(self._folder, layout, "w+")
        self._params = _views(params, self._shapes)
        self._own_params = {}  # name -> the model's own array, which self._params[name] stands for
        self._moments = [_views(moment, self._shapes) for moment in moments]  # AdamW's m, v
        self._moments_holder = lambda: None  # the optimizer whose moments they are (a weakref)
        self._workers: list[subprocess.Popen] = []
        self._finalizer = weakref.finalize(self, _shut_down, self._workers, self._folder,
                                           (model.params, self._params, self._own_params))
        try:
            for index in range(workers):
                self._workers.append(_start_worker(self._folder, index))
        except OSError as error:  # e.g. a limit on processes
            self.close()
            raise RuntimeError(f"could not start {workers} training worker processes ({error}); "
                               "train in this process instead (workers=1)") from error

    def loss_and_gradients(self, x, y, mask=None):
        """(the batch's mean loss over its predicted tokens, every parameter's gradient), as
        fast.loss_and_gradients(model, x, y, mask): ids x and targets y (B, T) or (T,), mask
        like y (1 = predicted). The sequences are shared out in order, the first worker taking
        the first ones; a worker's error is raised here, with its type and message."""
        loss, shares = self._gradients(x, y, mask)
        total = _views(np.sum(self._grads[:shares], axis=0, dtype=self.model.dtype),
                       self._shapes)  # fmt: skip
        return loss, {name: total[name] for name in self.model.params}

    def train_step(self, x, y, mask, optimizer: AdamW, lr: float | None = None,
                   clip: float | None = 1.0) -> float:
        """training.train_step's step on the batch x, y [, mask]: the loss and gradients as
        loss_and_gradients, the gradients clipped to the global norm `clip` (None: not clipped)
        and `optimizer`'s AdamW update at lr (None: its own), made by the workers; returns the
        loss. The optimizer must update this model's parameters. An error leaves the
        parameters as they were; an interrupt during the update lets it end first (closing
        waits for the workers, which finish what they were sent), so that a step is made whole
        or not at all. Only a worker that stops during the update (killed) leaves a step part
        made, and its error says so."""
        if set(optimizer.params) != set(self._shapes) or any(
                optimizer.params[name].shape != shape for name, shape in self._shapes.items()):
            raise ValueError("the optimizer must update this DataParallel's model: the same "
                             "parameter names and shapes")  # fmt: skip
        loss, shares = self._gradients(x, y, mask)
        squares = self._ask([("reduce", shares)] * len(self._workers))
        factor = clip_factor(math.sqrt(sum(squares)), clip) if clip else 1.0
        self._hold_moments_of(optimizer)
        try:
            self._ask([("update", factor, optimizer.settings(lr))] * len(self._workers))
        except KeyboardInterrupt:  # the workers have ended the update: take it, then stop
            self._take_update(optimizer)
            raise
        except RuntimeError as error:  # a worker stopped: the others have updated their shares
            raise RuntimeError(f"{error}\nThe update of this step is part made: some parameters "
                               "and moments are the step's, the others the step before's") from None
        self._take_update(optimizer)
        return loss

    def _take_update(self, optimizer: AdamW) -> None:
        """One more step counted; the new parameters copied into the optimizer's arrays where
        they are not the model's (the shared memory's views)."""
        optimizer.step_count += 1
        for name, shared in self._params.items():
            if optimizer.params[name] is not shared:
                optimizer.params[name][...] = shared

    def _hold_moments_of(self, optimizer: AdamW) -> None:
        """Move `optimizer`'s moments into the shared memory (once): its `m` and `v` then hold
        views of it. The optimizer whose moments it held before gets copies of them back."""
        holder = self._moments_holder()
        if holder is not None and holder is not optimizer:  # its own moments back, as copies
            for moments, shared in zip((holder.m, holder.v), self._moments, strict=True):
                for name, view in shared.items():
                    if moments.get(name) is view:
                        moments[name] = view.copy()
        for moments, shared in zip((optimizer.m, optimizer.v), self._moments, strict=True):
            _put_views(moments, shared)
        self._moments_holder = weakref.ref(optimizer)

    def _gradients(self, x, y, mask):
        """The first round: (the batch's mean loss, how many workers had a share), each worker's
        gradients in its row of the shared memory."""
        if not self._finalizer.alive:
            raise RuntimeError("this DataParallel is closed: start a new one")
        x, y = np.asarray(x), np.asarray(y)
        mask = None if mask is None else np.asarray(mask)
        if x.ndim == 1:  # one sequence: one share
            x, y, mask = x[None], y[None], None if mask is None else mask[None]
        count = predicted_count(mask, y.size)
        self._own_params.update(_put_views(self.model.params, self._params))
        shares = [rows for rows in np.array_split(np.arange(len(x)), len(self._workers))
                  if rows.size]  # fmt: skip
        losses = self._ask([("gradients", x[rows], y[rows], None if mask is None else mask[rows],
                             count) for rows in shares])  # fmt: skip
        return sum(losses) / count, len(shares)

    def _ask(self, requests: list) -> list:
        """Send request i to worker i and return their replies' values; a worker's error is
        raised with its type and message, after every worker has replied."""
        try:
            for index, request in enumerate(requests):
                self._send(index, request)
            replies = [self._receive(index) for index in range(len(requests))]
        except BaseException:  # a worker stopped, or the caller interrupted: start afresh
            self.close()
            raise
        for reply in replies:
            if reply[0] == "error":
                raise _as_exception(*reply[1:])
        return [reply[1] for reply in replies]

    def _send(self, index: int, request) -> None:
        try:
            pickle.dump(request, self._workers[index].stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._workers[index].stdin.flush()
        except OSError:  # the pipe is broken: the worker has stopped
            raise self._stopped(index) from None

    def _receive(self, index: int):
        try:
            return pickle.load(self._workers[index].stdout)
        except (EOFError, pickle.UnpicklingError):
            raise self._stopped(index) from None

    def _stopped(self, index: int) -> RuntimeError:
        """The error for worker `index` having stopped, quoting the end of its log."""
        log = (self._folder / f"worker-{index}.log").read_text(errors="replace").splitlines()
        return RuntimeError(f"training worker {index} stopped (exit code "
                            f"{self._workers[index].wait()})"
                            + ("; it wrote:\n" + "\n".join(log[-LOG_LINES:]) if log else ""))

    def close(self) -> None:
        """End the worker processes and free the memory they share (again: nothing)."""
        self._finalizer()

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _put_views(arrays: dict, views: dict) -> dict:
    """Put each of `views` into `arrays` under its name, where arrays holds another array, whose
    values are copied into the view first; returns {name: the array it replaced}.

    >>> arrays, views = {"w": np.ones(2)}, {"w": np.zeros(2)}
    >>> replaced = _put_views(arrays, views)
    >>> arrays["w"] is views["w"], views["w"], _put_views(arrays, views)
    (True, array([1., 1.]), {})
    """
    replaced = {}
    for name, view in views.items():
        if arrays[name] is not view:
            replaced[name] = arrays[name]
            view[...] = replaced[name]
            arrays[name] = view
    return replaced


def _views(flat, shapes: dict) -> dict:
    """name -> a view of `flat` (P,) with that shape, the arrays one after the other."""
    views, start = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape, dtype=np.int64))
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views


def _layout(shapes: dict) -> dict:
    """The parameters' shapes in the order they lie in the shared memory: the matrices (which
    AdamW decays) first, then the vectors, each group in the model's order.

    >>> list(_layout({"b": (4,), "w": (4, 4), "g": (4,), "e": (2, 4)}))
    ['w', 'e', 'b', 'g']
    """
    return dict(sorted(shapes.items(), key=lambda item: len(item[1]) < 2))


def _share(size: int, workers: int, index: int) -> slice:
    """The numbers of the shared memory (of `size`) that worker `index` reduces and updates:
    one of `workers` contiguous shares whose sizes differ by at most one.

    >>> [_share(10, 3, index) for index in range(3)]
    [slice(0, 3, None), slice(3, 6, None), slice(6, 10, None)]
    """
    return slice(size * index // workers, size * (index + 1) // workers)


def _shared_buffers(folder: Path, layout: dict, mode: str):
    """The parameters (P,), every worker's gradients (workers, P) and AdamW's moments m and v
    (2, P): memory-mapped files of `folder` (mode "w+" creates them, "r+" opens them) seen as
    plain arrays."""
    size = sum(int(np.prod(shape, dtype=np.int64)) for shape in layout["shapes"].values())
    dtype = np.dtype(layout["dtype"])
    return tuple(np.asarray(np.memmap(folder / name, dtype, mode, shape=shape))
                 for name, shape in (("params", (size,)), ("grads", (layout["workers"], size)),
                                     ("moments", (2, size))))  # fmt: skip


def _memory_folder() -> str | None:
    """/dev/shm where it is writable (a memory file system), else the system's temp folder."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _start_worker(folder: Path, index: int) -> subprocess.Popen:
    """`python -m course_lib.data_parallel folder index`, finding this very course_lib (run from
    the folder that holds it, which `-m` puts first on the path), its BLAS on one thread, its
    standard error in folder/worker-<index>.log."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    with open(folder / f"worker-{index}.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "course_lib.data_parallel", str(folder), str(index)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=package_parent,
            env={**os.environ, **ONE_THREAD, "PYTHONPATH": path})  # fmt: skip


def _as_exception(name: str, message: str) -> Exception:
    """A worker's error as the built-in exception of that name, else a RuntimeError."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return RuntimeError(f"{name}: {message}")


def _shut_down(workers: list, folder: Path, params: tuple) -> None:
    """Close each worker's input (it exits when it reads the end), wait, give the model its own
    parameter arrays back with the values trained (`params`: the model's dict, the shared
    views, the arrays they stand for), then remove `folder`."""
    for worker in workers:
        try:
            worker.stdin.close()
        except OSError:  # it has stopped already
            pass
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stdout.close()
    model_params, views, own = params
    for name, array in own.items():
        if model_params.get(name) is views[name]:
            array[...] = views[name]
            model_params[name] = array
    shutil.rmtree(folder, ignore_errors=True)


class _Worker:
    """What worker `index` keeps between requests, and its answer to each (`answer`)."""

    def __init__(self, folder: Path, index: int):
        layout = json.loads((folder / "layout.json").read_text())
        shapes = {name: tuple(shape) for name, shape in layout["shapes"].items()}
        params, self.grads, (m, v) = _shared_buffers(folder, layout, "r+")
        self.model = Transformer._from_params(TransformerConfig.from_dict(layout["config"]),
                                              _views(params, shapes), {})  # fmt: skip
        self.mine = _views(self.grads[index], shapes)                      # its row
        share = _share(params.size, len(self.grads), index)
        self.share, self.summed = share, np.empty(share.stop - share.start, dtype=params.dtype)
        # its share as (parameters, summed gradients, m, v, decayed) views: the matrices' part
        # of it, decayed, then the vectors'
        matrices = sum(int(np.prod(shape)) for shape in shapes.values() if len(shape) >= 2)
        split = min(max(matrices, share.start), share.stop) - share.start
        self.parts = [(params[share][part], self.summed[part], m[share][part], v[share][part],
                       decayed) for part, decayed in ((slice(None, split), True),
                                                      (slice(split, None), False))]  # fmt: skip

    def answer(self, request):
        """("gradients", x, y, mask, count) -> ("loss", the share's summed loss), its
        gradients / count in its row; ("reduce", shares) -> ("squares", the sum of squares of
        its share's gradients, summed over the first `shares` rows); ("update", factor,
        settings) -> ("updated", None), AdamW's update of its share by the summed gradients
        times factor."""
        kind, *arguments = request
        if kind == "gradients":
            x, y, mask, count = arguments
            loss, share = fast.loss_and_gradients(self.model, x, y, mask, reduction="sum")
            for name, grad in share.items():
                np.multiply(grad, 1.0 / count, out=self.mine[name])  # its part of the mean
            return "loss", float(loss)
        if kind == "reduce":
            (shares,) = arguments
            first, *others = self.grads[:shares, self.share]           # (n,) each
            np.copyto(self.summed, first)  # then adds: x0.85 the time of np.sum over the rows
            for row in others:
                self.summed += row
            return "squares", float(np.vdot(self.summed, self.summed))
        factor, settings = arguments
        if factor != 1.0:
            self.summed *= factor
        for param, grad, m, v, decayed in self.parts:
            fast.adamw_update(param, grad, m, v,
                              **{**settings, "weight_decay": settings["weight_decay"] * decayed})
        return "updated", None


def _serve(folder: Path, index: int) -> None:
    """A worker's loop: for each request on standard input, until it ends, reply with
    _Worker.answer's reply, or ("error", the error's type name, its message)."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print goes to the log, not into the replies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the main process's to handle
    worker = _Worker(folder, index)
    fast.keep_freed_memory()
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = worker.answer(request)
        except Exception as error:  # the main process raises it
            reply = ("error", type(error).__name__, str(error))
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]))
