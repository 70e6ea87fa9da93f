"""The multiple-choice widget, answered in the browser (course_lib/quiz_widget.js).

A widget whose buttons the kernel answers waits while the kernel is busy: during Run All a
click on Check would do nothing until every cell had run. This one carries every text Check or
Hint can show, written by the question (course_lib/quiz.py) when the widget is made, and its
view in the browser picks among them: radio buttons, Check and Hint, and the feedback area.
It is an anywidget (its JavaScript ships with the course, no network is needed). A classroom
question (no key) carries no answer and no explanation, only where the choice goes.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

VIEW = Path(__file__).with_name("quiz_widget.js")


class QuizWidget(anywidget.AnyWidget):
    """options: [(key, label)]; prompt, hint, pick_first: HTML; final: {key: HTML shown when
    that choice is checked}; retry: {key: HTML shown instead on a first wrong check}, only for
    the wrong choices of a self-paced question."""

    _esm = VIEW.read_text()
    options = traitlets.List().tag(sync=True)
    prompt = traitlets.Unicode().tag(sync=True)
    hint = traitlets.Unicode().tag(sync=True)
    pick_first = traitlets.Unicode().tag(sync=True)
    final = traitlets.Dict().tag(sync=True)
    retry = traitlets.Dict().tag(sync=True)
