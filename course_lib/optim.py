"""Optimisation: AdamW, gradient clipping and the warm-up + cosine learning-rate schedule.

A model's parameters (and its gradients) can live in ONE flat buffer, each array a view of its
part (`flat_views`; the Transformer does this). AdamW and clip_grad_norm then make a few passes
over one long array, in cache-sized blocks (`rows.for_row_blocks`), instead of a few passes
over each of dozens of small ones; given separate arrays, they work array by array.

>>> params = {"w": np.array([[3.0]])}
>>> optimizer = AdamW(params, lr=0.1, weight_decay=0.0)
>>> for _ in range(100):
...     optimizer.step({"w": 2 * params["w"]})      # gradient of w**2
>>> abs(float(params["w"][0, 0])) < 0.5
True
"""

from __future__ import annotations

import math

import numpy as np

from .checks import check_shape
from .rows import for_row_blocks


def flat_views(shapes: dict, dtype) -> dict:
    """name -> an uninitialised array of that shape, each a view of its part of one new 1-D
    buffer, laid out in the order of `shapes`.

    >>> views = flat_views({"w": (2, 3), "b": (3,)}, np.float32)
    >>> views["b"].base is views["w"].base, flat_buffer(views).shape
    (True, (9,))
    """
    sizes = [math.prod(shape) for shape in shapes.values()]
    buffer, start, views = np.empty(sum(sizes), dtype), 0, {}
    for (name, shape), size in zip(shapes.items(), sizes, strict=True):
        views[name] = buffer[start : start + size].reshape(shape)
        start += size
    return views


def flat_copy(arrays: dict) -> dict:
    """Copies of `arrays` (name -> array, one dtype) as views of one new buffer (`flat_views`)."""
    dtype = next(iter(arrays.values())).dtype
    views = flat_views({name: a.shape for name, a in arrays.items()}, dtype)
    for name, view in views.items():
        view[...] = arrays[name]
    return views


def flat_buffer(arrays: dict) -> np.ndarray | None:
    """The 1-D buffer that `arrays` tile exactly, one after the other in their order (as made by
    `flat_views`), or None if they do not."""
    base = next(iter(arrays.values())).base if arrays else None
    if base is None or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    address = base.__array_interface__["data"][0]
    end = address + base.nbytes
    for array in arrays.values():
        if array.base is not base or array.__array_interface__["data"][0] != address \
                or not array.flags.c_contiguous:  # fmt: skip
            return None
        address += array.nbytes
    return base if address == end else None


class AdamW:
    """Adam with decoupled weight decay, updating a dict of parameter arrays in place.

    Per parameter: m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g**2;
    p -= lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p), with bias-corrected m_hat, v_hat.
    Weight decay applies to matrices only (ndim >= 2), not to biases and layer-norm gains.
    """

    def __init__(self, params: dict, lr: float = 1e-3, betas=(0.9, 0.95), eps: float = 1e-8,
                 weight_decay: float = 0.1):
        if lr <= 0 or eps <= 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(
                f"need lr > 0, eps > 0, weight_decay >= 0 and betas in [0, 1); got lr={lr}, "
                f"eps={eps}, weight_decay={weight_decay}, betas={betas}"
            )
        self.params = params
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.step_count = 0
        shapes, dtype = {name: p.shape for name, p in params.items()}, _common_dtype(params)
        # the moment estimates, kept as m / (1 - b1) and v / (1 - b2) (see step)
        self.m, self.v = flat_views(shapes, dtype), flat_views(shapes, dtype)
        self._flat_m, self._flat_v = flat_buffer(self.m), flat_buffer(self.v)
        self._flat_m.fill(0)
        self._flat_v.fill(0)

    def step(self, grads: dict, lr: float | None = None) -> None:
        """One update of every parameter from its gradient (same keys and shapes as params).

        lr, if given, is used for this step instead of self.lr (for a schedule).

        >>> params = {"w": np.array([[1.0, 1.0]])}
        >>> AdamW(params, lr=0.1, weight_decay=0.0).step({"w": np.array([[0.5, -2.0]])})
        >>> params["w"]          # a first step moves each weight by lr, against its gradient
        array([[0.9, 1.1]])
        """
        if set(grads) != set(self.params):
            missing, extra = set(self.params) - set(grads), set(grads) - set(self.params)
            raise ValueError(
                f"gradients must match the parameters: missing {missing}, extra {extra}"
            )
        for name, param in self.params.items():  # check all before updating any
            check_shape(grads[name], param.shape, f"gradient {name}")
        lr = self.lr if lr is None else lr
        beta1, beta2 = self.betas
        self.step_count += 1
        correction1 = 1 - beta1**self.step_count
        correction2 = 1 - beta2**self.step_count
        decay = lr * self.weight_decay
        if decay:
            for param in self.params.values():
                if param.ndim >= 2:
                    param *= 1 - decay  # one pass, no temporary array

        # m and v are kept as m / (1 - b1) and v / (1 - b2), whose updates take one multiply
        # fewer each; lr * m_hat / (sqrt(v_hat) + eps) is then, with all the constants moved
        # into two numbers, step_size * m / (sqrt(v) + eps)
        root2 = math.sqrt(correction2 / (1 - beta2))
        step_size, eps = lr * root2 * (1 - beta1) / correction1, self.eps * root2

        def update(param, grad, m, v):  # element-wise, on a block of the arrays
            m *= beta1
            m += grad                                # m = b1 m + g
            work = grad * grad
            v *= beta2
            v += work                                # v = b2 v + g^2
            np.sqrt(v, out=work)
            work += eps
            np.divide(m, work, out=work)
            work *= step_size
            param -= work

        flat_params = flat_buffer(self.params)
        if flat_params is not None and flat_params.dtype == self._flat_m.dtype:
            flat_grads = flat_buffer(grads) if list(grads) == list(self.params) else None
            if flat_grads is None or flat_grads.dtype != flat_params.dtype:
                flat_grads = np.concatenate([np.ravel(grads[name]) for name in self.params])
            for_row_blocks(update, flat_params, flat_grads, self._flat_m, self._flat_v)
        else:
            for name, param in self.params.items():
                for_row_blocks(update, param, grads[name], self.m[name], self.v[name])


def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most max_norm (in place).

    Returns the norm before clipping.

    >>> grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    >>> clip_grad_norm(grads, 1.0), grads["a"]
    (5.0, array([0.6]))
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    flat = flat_buffer(grads)
    arrays = [flat] if flat is not None else [np.ravel(g) for g in grads.values()]
    norm = math.sqrt(sum(float(np.dot(g, g)) for g in arrays))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for grad in [flat] if flat is not None else grads.values():
            grad *= scale
    return norm


def _common_dtype(params: dict) -> np.dtype:
    return np.result_type(np.float16, *(np.asarray(p).dtype for p in params.values()))


def cosine_lr(step: int, *, max_steps: int, base_lr: float, warmup_steps: int = 0,
              min_lr: float = 0.0) -> float:
    """Learning rate at `step` (0-based): linear warm-up to base_lr, then cosine decay to min_lr.

    >>> [round(cosine_lr(s, max_steps=10, base_lr=1.0, warmup_steps=2), 2) for s in (0, 1, 2, 10)]
    [0.5, 1.0, 1.0, 0.0]
    """
    if step < 0 or max_steps <= 0 or warmup_steps < 0 or not 0 <= min_lr <= base_lr:
        raise ValueError(
            f"need step >= 0, max_steps > 0, warmup_steps >= 0, 0 <= min_lr <= base_lr; got "
            f"step={step}, max_steps={max_steps}, warmup_steps={warmup_steps}, "
            f"min_lr={min_lr}, base_lr={base_lr}"
        )
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress))
