"""The charts the chapters draw again and again: top next tokens, side-by-side bars, token losses,
a token strip.

Each function draws on a matplotlib Axes you pass in (so a chapter can lay several out in one
figure) and returns it. Labels of tokens are shown with repr(), so a leading space is visible.

Example:

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from course_lib.tokenizers import CharTokenizer
>>> tokenizer = CharTokenizer.train("ab")
>>> probs = np.zeros(tokenizer.vocab_size); probs[tokenizer.encode("a")] = 0.7
>>> probs[tokenizer.encode("b")] = 0.3
>>> ax = top_tokens(plt.subplots()[1], tokenizer, probs, n_top=2, title="next token")
>>> [tick.get_text() for tick in ax.get_xticklabels()]
["'a'", "'b'"]
"""

from __future__ import annotations

import math

import numpy as np

HIGHLIGHT, PLAIN = "tab:orange", "tab:blue"
SHORT_NAMES = {"<|instruction|>": "<instr>", "<|response|>": "<resp>", "<|eos|>": "<eos>",
               "<|pad|>": "<pad>", "<|bos|>": "<bos>"}  # fmt: skip


def probability_axis_top(highest: float) -> float:
    """The top of a probability axis that fits bars up to `highest`: the next tenth above it
    (a twentieth below 0.1), at most 1, so bars of 0.1 are not flattened by a 0-1 axis.

    >>> probability_axis_top(0.12), probability_axis_top(0.03), probability_axis_top(0.97)
    (0.2, 0.05, 1.0)
    """
    step = 0.05 if highest < 0.1 else 0.1
    return round(min(1.0, step * (math.floor(highest / step + 1e-9) + 1)), 2)


def _top_probs(probs, n_top: int) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, probabilities) of the n_top most probable tokens of probs (V,), most first."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 1:
        raise ValueError(f"probs must be one distribution, shape (V,), got {probs.shape}")
    shown = np.argsort(-probs, kind="stable")[:n_top]
    return shown, probs[shown]


def top_tokens(ax, tokenizer, probs, n_top: int = 10, title: str = "", highlight=None,
               y_top: float | None = None):
    """Bars of the n_top most probable tokens of probs (V,), most probable first.

    highlight: a token id (or a collection of ids) drawn in orange, e.g. the ideal next token.
    y_top: the top of the probability axis (default: fitted to the tallest bar, see
    probability_axis_top).
    """
    shown, heights = _top_probs(probs, n_top)
    marked = {int(highlight)} if np.isscalar(highlight) else {int(i) for i in highlight or ()}
    ax.bar(range(len(shown)), heights,
           color=[HIGHLIGHT if int(token) in marked else PLAIN for token in shown])  # fmt: skip
    ax.set_xticks(range(len(shown)), [repr(s) for s in tokenizer.token_strings(shown)],
                  rotation=45, ha="right", fontsize=8)  # fmt: skip
    ax.set_ylim(0, probability_axis_top(heights.max()) if y_top is None else y_top)
    ax.set_ylabel("probability")
    ax.set_title(title, fontsize=9)
    return ax


def top_tokens_figure(tokenizer, panels, n_top: int = 10, ncols: int = 2, suptitle: str = "",
                      panel_size: tuple[float, float] = (4.5, 2.8)):
    """A figure of top_tokens charts, ncols to a row: one per panel (title, probs (V,), highlight).

    highlight is a token id, a collection of ids or None (see top_tokens). The panels share one
    probability axis, fitted to the tallest bar of them all, so they compare at a glance. Unused
    places of the last row are left blank. Returns the matplotlib Figure (plt.show() displays it).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from course_lib.tokenizers import CharTokenizer
    >>> tokenizer = CharTokenizer.train("ab")
    >>> probs = np.full(tokenizer.vocab_size, 1 / tokenizer.vocab_size)
    >>> fig = top_tokens_figure(tokenizer, [("one", probs, None)] * 3, n_top=2)
    >>> [ax.get_title() for ax in fig.axes if ax.axison]
    ['one', 'one', 'one']
    """
    import matplotlib.pyplot as plt

    panels = list(panels)
    if not panels or any(len(panel) != 3 for panel in panels):
        raise ValueError("panels must be a non-empty list of (title, probs, highlight) triples")
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(panel_size[0] * ncols, panel_size[1] * nrows))  # fmt: skip
    y_top = probability_axis_top(max(_top_probs(probs, n_top)[1].max() for _, probs, _ in panels))
    for ax, (title, probs, highlight) in zip(axes.ravel()[: len(panels)], panels, strict=True):
        top_tokens(ax, tokenizer, probs, n_top, title, highlight, y_top)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def grouped_bars(ax, labels, series: dict, ylabel: str = "probability", title: str = ""):
    """Side-by-side bars: one group per label, one bar per entry of series {name: values}.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> series = {"before": [0.2, 0.8], "after": [0.5, 0.5]}
    >>> ax = grouped_bars(plt.subplots()[1], ["x", "y"], series)
    >>> len(ax.patches), ax.get_legend().get_texts()[1].get_text()
    (4, 'after')
    """
    labels = list(labels)
    if not series or any(len(values) != len(labels) for values in series.values()):
        raise ValueError(f"every series needs one value per label ({len(labels)})")
    width = 0.8 / len(series)
    positions = np.arange(len(labels))
    for k, (name, values) in enumerate(series.items()):
        ax.bar(positions + (k - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(positions, labels, rotation=40 if len(labels) > 5 else 0,
                  ha="right" if len(labels) > 5 else "center", fontsize=8)  # fmt: skip
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return ax


def line_plot(ax, x, series: dict, xlabel: str, ylabel: str, title: str = "", style: str = "o-"):
    """One line per entry of series {name: values}, each with one value per x.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> ax = line_plot(plt.subplots()[1], [1, 2], {"a": [3, 4], "b": [1, 0]}, "x", "y")
    >>> len(ax.get_lines())
    2
    """
    x = list(x)
    if not series or any(len(values) != len(x) for values in series.values()):
        raise ValueError(f"every series needs one value per x ({len(x)})")
    for name, values in series.items():
        ax.plot(x, values, style, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return ax


def token_loss_bars(ax, tokenizer, ids, losses, title: str = ""):
    """Bars of the token losses (T-1,) of the predicted tokens ids[1:] of ids (T,), in nats.

    The first token is given, not predicted, so it has no bar. Colours run from dark (low loss)
    to yellow (10 nats or more).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from course_lib.tokenizers import CharTokenizer
    >>> tokenizer = CharTokenizer.train("ab")
    >>> ax = token_loss_bars(plt.subplots()[1], tokenizer, tokenizer.encode("aba"), [0.5, 2.0])
    >>> [tick.get_text() for tick in ax.get_xticklabels()]
    ["'b'", "'a'"]
    >>> [float(bar.get_height()) for bar in ax.patches]
    [0.5, 2.0]
    """
    import matplotlib.pyplot as plt

    ids, losses = np.asarray(ids), np.asarray(losses, dtype=np.float64)
    if ids.ndim != 1 or losses.shape != (len(ids) - 1,):
        raise ValueError(f"expected ids (T,) and the losses (T-1,) of ids[1:], got {ids.shape} "
                         f"and {losses.shape}")  # fmt: skip
    ax.bar(range(len(losses)), losses, color=plt.cm.viridis(np.clip(losses / 10, 0, 1)))
    ax.set_xticks(range(len(losses)), [repr(s) for s in tokenizer.token_strings(ids[1:])],
                  rotation=40, ha="right", fontsize=8)  # fmt: skip
    ax.set_ylabel("token loss (nats)")
    ax.set_title(title, fontsize=10)
    return ax


def token_strip(ax, tokenizer, x, y, mask, title: str = "", values=None):
    """Inputs x (top row) and targets y (bottom row) of one example as boxes, each (T,).

    Targets with mask 1 are green (in the loss), the others grey; inputs up to the first scored
    target are blue (the prompt). values (T,), if given, are printed under the scored targets
    (e.g. their token losses). A dot stands for a space.
    """
    x, y, mask = (np.asarray(a) for a in (x, y, mask))
    if not x.shape == y.shape == mask.shape or x.ndim != 1:
        raise ValueError(f"x, y and mask must be 1-D of one length, got {x.shape}, {y.shape}, "
                         f"{mask.shape}")  # fmt: skip
    n = len(x)
    scored = np.flatnonzero(mask)
    prompt_end = int(scored[0]) + 1 if len(scored) else n
    for row, (ids, label) in enumerate([(x, "input x"), (y, "target y")]):
        for t, token in enumerate(tokenizer.token_strings(ids)):
            if row == 0:
                colour = "#dbe8f6" if t < prompt_end else "#f3f3f3"
            else:
                colour = "#9fd89f" if mask[t] else "#d9d9d9"
            ax.add_patch(_box(t, -row * 1.3, colour))
            ax.text(t + 0.47, -row * 1.3 + 0.5, SHORT_NAMES.get(token, token).replace(" ", "·"),
                    rotation=90, ha="center", va="center", fontsize=8)  # fmt: skip
        ax.text(-0.3, -row * 1.3 + 0.5, label, ha="right", va="center", fontsize=9)
    if values is not None:
        for t in scored:
            ax.text(t + 0.47, -1.6, f"{values[t]:.1f}", ha="center", va="top", fontsize=7)
        ax.text(-0.3, -1.75, "loss", ha="right", va="center", fontsize=9)
    ax.set_xlim(-2.6, n + 0.1)
    ax.set_ylim(-2.1, 1.2)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return ax


def _box(left: float, bottom: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((left, bottom), 0.94, 1, facecolor=colour, edgecolor="grey")
