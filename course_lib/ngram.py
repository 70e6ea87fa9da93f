"""The course's first base model: a count-based n-gram language model with add-k smoothing.

An n-gram model predicts the next token from the previous n - 1 tokens only, using counts:

    p(w | context) = (count(context, w) + k) / (count(context) + k * V)

With k = 0 this is the maximum-likelihood estimate (unseen pairs get probability 0); k > 0
("add-k" or, for k = 1, Laplace smoothing) gives every token a small share. Near the start of
a sequence, where fewer than n - 1 tokens exist, the model uses the shorter history it has
(the counts of every order 1..n are kept).

>>> model = NGramModel(vocab_size=3, n=2, smoothing=0.0).fit([[0, 1, 0, 2]])
>>> model.next_token_probs([0]).tolist()
[0.0, 0.5, 0.5]
"""

from __future__ import annotations

import numpy as np

from .checks import check_int, check_sequence, check_token_ids

MAX_TABLE_ENTRIES = 50_000_000  # dense count tables beyond this would not fit a laptop's memory


class NGramModel:
    """Count-based n-gram language model with add-k smoothing (same interface as Transformer).

    vocab_size: number of token ids V; n: 1 (unigram), 2 (bigram), 3 (trigram), ...;
    smoothing: the k added to every count (0 gives the maximum-likelihood estimate).
    After `fit`, `counts` is the dense n-gram count table of shape (V,) * n (for a bigram,
    counts[a, b] is how often b followed a).

    >>> model = NGramModel(vocab_size=4).fit([[1, 2, 3, 1, 2]])
    >>> int(model.counts[1, 2])
    2
    """

    def __init__(self, vocab_size: int, n: int = 2, smoothing: float = 1.0):
        vocab_size, n = check_int(vocab_size, "vocab_size"), check_int(n, "n")
        if not isinstance(smoothing, (int, float, np.number)) or not smoothing >= 0:
            raise ValueError(f"smoothing must be a number >= 0, got {smoothing!r}")
        if vocab_size**n > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"a dense {n}-gram table over {vocab_size} tokens needs {vocab_size**n:,} "
                f"entries (limit {MAX_TABLE_ENTRIES:,}); use a smaller n or vocabulary"
            )
        self.vocab_size = int(vocab_size)
        self.n = int(n)
        self.smoothing = float(smoothing)
        self._counts: list[np.ndarray] | None = None  # counts of each order 1..n
        self._log_probs: list[np.ndarray] | None = None

    @property
    def block_size(self) -> int:
        """Context length the model reads: n - 1 tokens (at least 1 for the shared interface)."""
        return max(1, self.n - 1)

    @property
    def counts(self) -> np.ndarray:
        """n-gram counts, shape (V,) * n, int64: counts[a, b] = #times b followed a (bigram)."""
        return self._fitted_tables()[0][-1]

    def fit(self, sequences) -> NGramModel:
        """Count the n-grams of `sequences` (one sequence of ids, or a list of them); returns self.

        Counts from a previous fit are discarded. Sequences never cross: the last token of one
        sequence is not the context of the first token of the next.
        """
        seqs = _as_sequences(sequences, self.vocab_size)
        V = self.vocab_size
        self._counts = []
        for order in range(1, self.n + 1):
            index = [_window_index(s, order, V) for s in seqs if len(s) >= order]
            flat = np.concatenate(index) if index else np.zeros(0, dtype=np.int64)
            table = np.bincount(flat, minlength=V**order).reshape((V,) * order)
            self._counts.append(table.astype(np.int64))
        self._log_probs = [self._smoothed_log_probs(c) for c in self._counts]
        return self

    def _smoothed_log_probs(self, counts: np.ndarray) -> np.ndarray:
        """log p(w | context) from a count table (..., V); unseen contexts are uniform."""
        k, V = self.smoothing, self.vocab_size
        numer = counts + k
        denom = counts.sum(axis=-1, keepdims=True) + k * V
        probs = np.divide(numer, denom, out=np.full(counts.shape, 1.0 / V), where=denom > 0)
        with np.errstate(divide="ignore"):
            return np.log(probs)

    def _fitted_tables(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if self._counts is None or self._log_probs is None:
            raise RuntimeError("the NGramModel is not fitted yet: call model.fit(sequences) first")
        return self._counts, self._log_probs

    def logits(self, ids) -> np.ndarray:
        """Log-probabilities of the next token: ids (B, T) -> (B, T, V) float64 ((T,) -> (T, V)).

        logits[b, t] = log p(. | ids[b, t-n+2 : t+1]); -inf marks impossible tokens when k = 0.
        """
        _, log_probs = self._fitted_tables()
        ids = check_token_ids(ids, self.vocab_size)
        single = ids.ndim == 1
        ids = ids[None] if single else ids
        B, T = ids.shape
        V = self.vocab_size
        if self.n == 1:  # a unigram model ignores the context
            out = np.broadcast_to(log_probs[0], (B, T, V)).copy()
            return out[0] if single else out
        out = np.empty((B, T, V))
        for t in range(min(T, self.n - 2)):  # start of the sequence: shorter history
            out[:, t] = log_probs[t + 1].reshape(-1, V)[_context_index(ids[:, : t + 1], V)]
        c = self.n - 1
        if T >= c:  # every later position uses the full (n - 1)-token context
            windows = np.lib.stride_tricks.sliding_window_view(ids, c, axis=1)  # (B, T-c+1, c)
            out[:, c - 1 :] = log_probs[-1].reshape(-1, V)[_context_index(windows, V)]
        return out[0] if single else out

    def next_token_probs(self, context) -> np.ndarray:
        """Probabilities (V,) float64 of the token after `context` (uses its last n - 1 ids).

        >>> NGramModel(vocab_size=2, smoothing=1.0).fit([[0, 0, 1]]).next_token_probs([0]).tolist()
        [0.5, 0.5]
        """
        ids = check_sequence(context, self.vocab_size)
        return np.exp(self.logits(ids[-self.block_size :])[-1])


def _as_sequences(sequences, vocab_size: int) -> list[np.ndarray]:
    """A list of validated 1-D id arrays from one sequence or an iterable of sequences."""
    if isinstance(sequences, np.ndarray):
        items = [sequences] if sequences.ndim == 1 else list(sequences)
    else:
        items = list(sequences)
        if items and all(isinstance(x, (int, np.integer)) for x in items):
            items = [items]  # a single flat sequence of ids
    if not items:
        raise ValueError("fit needs at least one sequence of token ids, got none")
    seqs = []
    for s in items:
        seqs.append(check_sequence(s, vocab_size, "each sequence").astype(np.int64))
    return seqs


def _window_index(seq: np.ndarray, order: int, V: int) -> np.ndarray:
    """Flat table index of every length-`order` window of seq (base-V number of its ids)."""
    windows = np.lib.stride_tricks.sliding_window_view(seq, order)
    return _context_index(windows, V)


def _context_index(windows: np.ndarray, V: int) -> np.ndarray:
    """Base-V number of the ids along the last axis: (..., c) -> (...)."""
    weights = V ** np.arange(windows.shape[-1] - 1, -1, -1, dtype=np.int64)
    return windows.astype(np.int64) @ weights
