"""course_lib.plots: the charts draw what they are given, and refuse what they cannot draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from course_lib.plots import (  # noqa: E402
    HIGHLIGHT,
    PLAIN,
    grouped_bars,
    probability_axis_top,
    token_strip,
    top_tokens,
    top_tokens_figure,
)
from course_lib.tokenizers import CharTokenizer  # noqa: E402

TOKENIZER = CharTokenizer.train("abc ")


def axes():
    fig, ax = plt.subplots()
    plt.close(fig)
    return ax


def test_top_tokens_draws_the_most_probable_first_and_highlights():
    probs = np.zeros(TOKENIZER.vocab_size)
    a, b, c = (TOKENIZER.encode(ch)[0] for ch in "abc")
    probs[[a, b, c]] = [0.2, 0.5, 0.3]
    ax = top_tokens(axes(), TOKENIZER, probs, n_top=3, highlight=c)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["'b'", "'c'", "'a'"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [0.5, 0.3, 0.2]
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours == [matplotlib.colors.to_hex(x) for x in (PLAIN, HIGHLIGHT, PLAIN)]


def test_top_tokens_rejects_a_batch_of_distributions():
    with pytest.raises(ValueError, match="one distribution"):
        top_tokens(axes(), TOKENIZER, np.ones((2, TOKENIZER.vocab_size)))


def test_grouped_bars_draws_one_bar_per_label_and_series():
    ax = grouped_bars(axes(), ["x", "y", "z"], {"p": [1, 2, 3], "q": [3, 2, 1]})
    assert len(ax.patches) == 6
    assert sorted(p.get_height() for p in ax.patches) == [1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="one value per label"):
        grouped_bars(axes(), ["x", "y"], {"p": [1, 2, 3]})


def test_token_strip_colours_targets_by_the_mask():
    ids = [TOKENIZER.instruction_id, *TOKENIZER.encode("ab"), TOKENIZER.response_id,
           *TOKENIZER.encode("c"), TOKENIZER.eos_id]  # fmt: skip
    x, y, mask = np.array(ids[:-1]), np.array(ids[1:]), np.array([0, 0, 0, 1, 1])
    ax = token_strip(axes(), TOKENIZER, x, y, mask, values=np.arange(5.0))
    boxes = ax.patches
    assert len(boxes) == 2 * len(x)
    targets = [matplotlib.colors.to_hex(b.get_facecolor()) for b in boxes[len(x):]]
    assert targets == ["#d9d9d9"] * 3 + ["#9fd89f"] * 2
    assert {t.get_text() for t in ax.texts} >= {"<instr>", "<resp>", "<eos>", "3.0", "4.0"}
    with pytest.raises(ValueError, match="1-D of one length"):
        token_strip(axes(), TOKENIZER, x, y[:-1], mask)


def test_line_plot_draws_one_line_per_series():
    from course_lib.plots import line_plot

    ax = line_plot(axes(), [1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, "x", "y", "t")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[1].get_ydata()) == [3, 2, 1]
    with pytest.raises(ValueError, match="one value per x"):
        line_plot(axes(), [1, 2], {"a": [1]}, "x", "y")


def test_top_tokens_figure_lays_out_one_chart_per_panel():
    from course_lib.plots import top_tokens_figure

    probs = np.zeros(TOKENIZER.vocab_size)
    a, b = (TOKENIZER.encode(ch)[0] for ch in "ab")
    probs[[a, b]] = [0.25, 0.75]
    panels = [("first", probs, a), ("second", probs, None), ("third", probs, [a, b])]
    fig = top_tokens_figure(TOKENIZER, panels, n_top=2, ncols=2, suptitle="all")
    plt.close(fig)
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 4 and [ax.get_title() for ax in drawn] == ["first", "second", "third"]
    assert [p.get_height() for p in drawn[0].patches] == [0.75, 0.25]
    orange = matplotlib.colors.to_hex(HIGHLIGHT)
    marked = [[matplotlib.colors.to_hex(p.get_facecolor()) == orange for p in ax.patches]
              for ax in drawn]  # fmt: skip
    assert marked == [[False, True], [False, False], [True, True]]
    assert fig.texts[0].get_text() == "all"
    with pytest.raises(ValueError, match="triples"):
        top_tokens_figure(TOKENIZER, [])


def test_token_loss_bars_draw_one_bar_per_predicted_token():
    from course_lib.plots import token_loss_bars

    ids = TOKENIZER.encode("abca")
    ax = token_loss_bars(axes(), TOKENIZER, ids, [0.1, 12.0, 3.0], "losses")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["'b'", "'c'", "'a'"]
    assert [p.get_height() for p in ax.patches] == [0.1, 12.0, 3.0]
    yellow = matplotlib.colors.to_hex(plt.cm.viridis(1.0))
    assert matplotlib.colors.to_hex(ax.patches[1].get_facecolor()) == yellow  # 10 nats or more
    with pytest.raises(ValueError, match=r"losses \(T-1,\)"):
        token_loss_bars(axes(), TOKENIZER, ids, [0.1, 12.0, 3.0, 1.0])


@given(highest=st.floats(0.0, 1.0))
def test_the_probability_axis_fits_the_tallest_bar(highest):
    top = probability_axis_top(highest)
    assert highest < top <= 1.0 or top == 1.0
    assert top - highest <= 0.1 + 1e-9  # never a 0-1 axis for bars of 0.1


def test_a_chart_of_low_probabilities_is_not_flattened():
    probs = np.zeros(TOKENIZER.vocab_size)
    probs[:3] = [0.12, 0.08, 0.05]
    ax = top_tokens(axes(), TOKENIZER, probs, n_top=3)
    assert ax.get_ylim() == (0.0, 0.2)


def test_the_panels_of_a_figure_share_one_fitted_axis():
    low, high = np.zeros(TOKENIZER.vocab_size), np.zeros(TOKENIZER.vocab_size)
    low[0], high[0] = 0.1, 0.55
    fig = top_tokens_figure(TOKENIZER, [("low", low, None), ("high", high, None)], n_top=2)
    assert [ax.get_ylim() for ax in fig.axes] == [(0.0, 0.6), (0.0, 0.6)]
    plt.close(fig)
