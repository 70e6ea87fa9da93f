"""Choosing the next token, and the autoregressive loop: pick a token, append it, repeat.

Each step looks only at the tokens so far. The logits of the last position are reshaped by a
temperature, filtered to the top k tokens and/or the top-p nucleus, and one token is drawn.

>>> logits = np.log(np.array([0.5, 0.3, 0.2]))
>>> greedy(logits)
0
>>> np.round(np.exp(top_k_filter(logits, 2)), 2)
array([0.5, 0.3, 0. ])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .losses import softmax


def greedy(logits: np.ndarray) -> int:
    """The id of the highest-scoring token (ties go to the lowest id). logits (V,).

    >>> greedy(np.array([0.1, 2.0, 2.0]))
    1
    """
    return int(np.argmax(_check_logits(logits)))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """logits / temperature: below 1 sharpens the distribution, above 1 flattens it.

    >>> apply_temperature(np.array([2.0, 1.0]), 0.5)
    array([4., 2.])
    """
    _check_temperature(temperature, allow_zero=False)
    return _check_logits(logits) / temperature


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the k highest logits, set the rest to -inf (ties at the k-th value are kept).

    >>> top_k_filter(np.array([1.0, 3.0, 2.0]), 2)
    array([-inf,   3.,   2.])
    """
    logits = _check_logits(logits)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(logits):
        raise ValueError(f"k must be an integer in [1, {len(logits)}], got {k!r}")
    kth_largest = np.sort(logits)[-k]
    return np.where(logits >= kth_largest, logits, -np.inf)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose probabilities add up to at least p.

    >>> np.isinf(top_p_filter(np.log(np.array([0.5, 0.3, 0.2])), 0.7))
    array([False, False,  True])
    """
    logits = _check_logits(logits)
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    probs = softmax(logits)
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    n_keep = int(np.searchsorted(cumulative, p - 1e-12)) + 1
    keep = np.zeros(len(logits), dtype=bool)
    keep[order[:n_keep]] = True
    return np.where(keep, logits, -np.inf)


def next_token_distribution(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                            top_p: float | None = None) -> np.ndarray:
    """The probabilities sample_next draws from: temperature, then top-k, then top-p. (V,).

    >>> next_token_distribution(np.log(np.array([0.5, 0.3, 0.2])), top_k=2)   # renormalised
    array([0.625, 0.375, 0.   ])
    """
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return softmax(logits)


def sample_next(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None) -> int:
    """Draw one token id from the filtered distribution; temperature 0 means greedy.

    The filters always keep the most likely token, so with temperature 0 they change nothing
    (they still check their settings).

    >>> sample_next(np.array([0.1, 2.0, -1.0]), np.random.default_rng(0), temperature=0)
    1
    """
    _check_temperature(temperature, allow_zero=True)
    if temperature == 0:
        return greedy(next_token_distribution(logits, 1.0, top_k, top_p))
    probs = next_token_distribution(logits, temperature, top_k, top_p)
    return int(rng.choice(len(probs), p=probs))


def generate(model, prompt_ids, max_new_tokens: int, *, rng: np.random.Generator | None = None,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             stop_ids=(), use_cache: bool = True) -> Iterator[int]:
    """Stream new token ids one at a time, feeding each back in as context.

    Stops after max_new_tokens, or right after yielding a token in stop_ids (so the stop id is the
    last id you see). Only the last model.block_size tokens are used as context. With use_cache
    and a model that has a key/value cache, each step feeds just the new token; otherwise the
    whole context is recomputed. rng defaults to np.random.default_rng(0), so runs repeat exactly.
    Bad arguments raise here, before the first token.

    >>> for token in generate(model, [1, 2], 3, temperature=0):   # doctest: +SKIP
    ...     print(token)
    """
    context = [int(token) for token in np.asarray(prompt_ids).ravel()]
    if not context:
        raise ValueError("the prompt is empty: generation needs at least one token of context")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    _check_temperature(temperature, allow_zero=True)
    rng = np.random.default_rng(0) if rng is None else rng
    stop_ids = {int(token) for token in stop_ids}
    settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    return _generate(_LogitsSource(model, use_cache), context, max_new_tokens, rng, settings,
                     stop_ids)  # fmt: skip


def _generate(next_logits, context: list, max_new_tokens: int, rng, settings: dict, stop_ids):
    for _ in range(max_new_tokens):
        token = sample_next(next_logits(context), rng, **settings)
        context.append(token)
        yield token
        if token in stop_ids:
            return


def generate_text(model, tokenizer, prompt: str | list[int], max_new_tokens: int = 100, *,
                  stop_at_eos: bool = True, stop_ids=(), **sampling) -> str:
    """The text the model writes after `prompt` (the prompt itself is not repeated).

    prompt: text, encoded as ordinary text (a special-token string such as "<|eos|>" in it is just
    characters), or the prompt's token ids, for a prompt that holds special tokens
    (finetuning.prompt_ids). Stops at <|eos|> (left out of the text) unless stop_at_eos=False;
    stop_ids adds more stops. sampling: rng, temperature, top_k, top_p, use_cache, as for
    generate().
    """
    stop_ids = {*stop_ids, tokenizer.eos_id} if stop_at_eos else set(stop_ids)
    prompt_ids = tokenizer.encode(prompt) if isinstance(prompt, str) else prompt
    new_ids = list(generate(model, prompt_ids, max_new_tokens, stop_ids=stop_ids, **sampling))
    if new_ids and stop_at_eos and new_ids[-1] == tokenizer.eos_id:
        new_ids.pop()
    return tokenizer.decode(new_ids)


class _LogitsSource:
    """Next-token logits for a growing context, via the model's key/value cache if it has one."""

    def __init__(self, model, use_cache: bool):
        self.model = model
        self.use_cache = use_cache and hasattr(model, "new_kv_cache")
        self.cache = None
        self.fed = 0  # how many tokens of the context the cache holds

    def __call__(self, context: list) -> np.ndarray:
        window = context[-self.model.block_size :]
        if not self.use_cache:
            return self.model.logits(np.array(window))[-1]
        starts_new = self.cache is None or len(context) > self.model.block_size
        if starts_new:  # positions shift once the window slides, so the cache starts again
            self.cache = self.model.new_kv_cache(batch_size=1)
            new_tokens = window
        else:
            new_tokens = context[self.fed :]
        self.fed = len(context)
        return self.model.forward_cached(np.array([new_tokens]), self.cache)[0, -1]


def _check_logits(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or logits.size == 0:
        raise ValueError(f"expected the logits of one step, shape (V,), got {logits.shape}")
    return logits


def _check_temperature(temperature: float, allow_zero: bool) -> None:
    if temperature == 0 and allow_zero:
        return
    if not temperature > 0:  # also catches NaN
        expected = "0 (greedy) or > 0" if allow_zero else "> 0 (for 0 use greedy())"
        raise ValueError(f"temperature must be {expected}, got {temperature}")
