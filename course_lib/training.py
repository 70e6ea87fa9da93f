"""The training loop: forward, loss, backward, clip, AdamW step; and a loss history to plot.

One step on a batch (x, y[, mask]) of a Transformer, through `course_lib.fast` (the same results
as the model's own plain forward and backward, faster):

    logits, cache = fast.forward(model, x)                     # (B, T, V)
    loss, dlogits = fast.cross_entropy_and_grad(logits, y, mask)   # mean over predicted tokens
    grads = fast.backward(model, dlogits, cache)               # (fast.loss_and_gradients)
    clip_grad_norm(grads, clip); optimizer.step(grads, lr=cosine_lr(step, ...))

With train(..., workers=2) two worker processes make the step: each the gradients of half of
the batch's sequences, then the AdamW update of half of the parameters (course_lib.data_parallel).

>>> history = train(model, get_batch, steps=100)     # doctest: +SKIP
>>> history.plot()                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from . import fast
from .data_parallel import DataParallel
from .losses import cross_entropy
from .optim import AdamW, clip_grad_norm, cosine_lr
from .transformer import Transformer


@dataclass
class LossHistory:
    """Losses recorded during training: one per step, and one per evaluation.

    step_seconds holds the wall time of each optimisation step (forward, backward and update;
    not the batch making nor the evaluations): its median is the step time a chapter quotes.
    vocab_size, when known, draws the uniform-guess baseline log(V) in plot().

    >>> history = LossHistory(steps=[0, 1], train_loss=[2.0, 1.5], vocab_size=8)
    >>> bool(history.train_loss[-1] < np.log(history.vocab_size))
    True
    """

    steps: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    eval_steps: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    step_seconds: list = field(default_factory=list)
    vocab_size: int | None = None

    def median_step_seconds(self) -> float:
        """The median wall time of one step: robust to the odd slow step on a busy machine."""
        if not self.step_seconds:
            raise ValueError("no step was timed: train for at least one step first")
        return float(np.median(self.step_seconds))

    def plot(self, ax=None, title: str = "Training"):
        """Train and evaluation loss against the step, with the uniform baseline log(V)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(self.steps, self.train_loss, label="train", alpha=0.8)
        if self.eval_steps:
            ax.plot(self.eval_steps, self.eval_loss, "o-", label="validation")
        if self.vocab_size:
            ax.axhline(np.log(self.vocab_size), color="grey", linestyle="--",
                       label=f"uniform guess: log {self.vocab_size}")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (nats per token)")
        ax.set_title(title)
        ax.legend()
        return ax


def train_step(model, batch, optimizer: AdamW, lr: float, clip: float | None = 1.0,
               parallel: DataParallel | None = None) -> float:
    """One optimisation step on batch = (x, y) or (x, y, mask); returns the batch's mean loss.

    The loss and gradients come from `fast.loss_and_gradients`; with `parallel` given, its
    worker processes make the whole step (DataParallel.train_step). Logits that are NaN or
    infinite raise FloatingPointError before any parameter changes.

    >>> from course_lib.transformer import Transformer, TransformerConfig
    >>> model = Transformer(TransformerConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1,
    ...                                       n_embd=8))
    >>> x, y = np.array([[0, 1, 2, 3]]), np.array([[1, 2, 3, 4]])
    >>> optimizer = AdamW(model.params, lr=1e-2)
    >>> first = train_step(model, (x, y), optimizer, lr=1e-2)
    >>> second = train_step(model, (x, y), optimizer, lr=1e-2)
    >>> second < first                               # the same batch is now a bit more likely
    True
    """
    x, y, mask = _unpack(batch)
    if parallel is not None:
        return parallel.train_step(x, y, mask, optimizer, lr, clip)
    fast.keep_freed_memory()  # a step frees and takes again tens of MB: keep them (fast.py)
    loss, grads = fast.loss_and_gradients(model, x, y, mask)
    if clip:
        clip_grad_norm(grads, clip)
    optimizer.step(grads, lr=lr)
    return float(loss)


def train(model, get_batch, steps: int, *, optimizer: AdamW | None = None,
          lr: float | None = None, warmup_steps: int = 0, min_lr: float | None = None,
          weight_decay: float = 0.1, clip: float | None = 1.0, eval_fn=None,
          eval_every: int | None = None, progress: bool = True, workers: int = 1) -> LossHistory:
    """Train `model` in place for `steps` steps; returns the LossHistory.

    model: a Transformer.
    get_batch(step) -> (x, y) or (x, y, mask); eval_fn(model) -> a loss, called every eval_every
    steps (default steps // 10) and after the last one. The learning rate warms up linearly for
    warmup_steps to lr (default: the optimizer's lr, or 3e-3 for a new AdamW), then decays along
    a cosine to min_lr (default lr / 10). Runs repeat exactly when get_batch and the model do.
    workers > 1 shares each batch's sequences out among that many processes (DataParallel):
    the same training up to float32 rounding, faster on a machine with that many cores.

    >>> from course_lib.data import random_windows
    >>> from course_lib.transformer import Transformer, TransformerConfig
    >>> config = TransformerConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=16)
    >>> model, tokens = Transformer(config), np.arange(100) % 5      # 0 1 2 3 4 0 1 2 ...
    >>> def get_batch(step):
    ...     return random_windows(tokens, 4, 8, np.random.default_rng(step))
    >>> history = train(model, get_batch, steps=60, lr=1e-2, progress=False)
    >>> history.train_loss[0] > 1.0 > 0.1 > history.train_loss[-1]   # log 5 = 1.61 at the start
    True
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    if not isinstance(model, Transformer):
        raise TypeError(f"train needs a Transformer, whose gradients it follows; "
                        f"{type(model).__name__} has none")  # fmt: skip
    if lr is None:
        lr = optimizer.lr if optimizer is not None else 3e-3
    optimizer = optimizer or AdamW(model.params, lr=lr, weight_decay=weight_decay)
    min_lr = lr / 10 if min_lr is None else min_lr
    eval_every = eval_every or max(1, steps // 10)
    history = LossHistory(vocab_size=model.vocab_size)
    bar = _progress_bar(steps, progress)
    with DataParallel(model, workers) if workers != 1 else contextlib.nullcontext() as parallel:
        for step in range(steps):
            step_lr = cosine_lr(step, max_steps=steps, base_lr=lr, warmup_steps=warmup_steps,
                                min_lr=min_lr)
            batch = get_batch(step)
            started = time.perf_counter()
            loss = train_step(model, batch, optimizer, step_lr, clip, parallel)
            history.step_seconds.append(time.perf_counter() - started)
            history.steps.append(step)
            history.train_loss.append(loss)
            if eval_fn is not None and ((step + 1) % eval_every == 0 or step + 1 == steps):
                history.eval_steps.append(step)
                history.eval_loss.append(float(eval_fn(model)))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(history.train_loss[-10:]):.3f}")
    if bar is not None:
        bar.close()
    return history


def evaluate(model, batches) -> float:
    """Mean token loss of `model` over batches of (x, y) or (x, y, mask), without training.

    The losses of all predicted tokens are summed and divided by their count.

    >>> from course_lib.ngram import NGramModel
    >>> uniform = NGramModel(vocab_size=4, n=1).fit([[0, 1, 2, 3]])
    >>> round(evaluate(uniform, [(np.array([[0, 1, 2]]), np.array([[1, 2, 3]]))]), 4)  # log 4
    1.3863
    """
    total, count = 0.0, 0
    for batch in batches:
        x, y, mask = _unpack(batch)
        logits = model.logits(x)
        total += float(cross_entropy(logits, y, mask, reduction="sum"))
        count += y.size if mask is None else int(np.count_nonzero(mask))
    if count == 0:
        raise ValueError("evaluate needs at least one batch with a predicted token")
    return total / count


def _unpack(batch):
    if len(batch) == 2:
        x, y = batch
        return np.asarray(x), np.asarray(y), None
    if len(batch) == 3:
        x, y, mask = batch
        return np.asarray(x), np.asarray(y), np.asarray(mask)
    raise ValueError(f"a batch is (x, y) or (x, y, mask), got {len(batch)} items")


def _progress_bar(steps: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="training", leave=True)
