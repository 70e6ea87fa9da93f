"""Multiple-choice questions: pick an option, ask for a hint, read why.

A question is plain data plus a widget. In JupyterLab the learner picks an option and clicks
"Check". In the self-paced edition (the question knows its answer) the widget says whether the
choice is right and why; a first wrong choice gets only its own explanation and a second try,
and the explanation of every option (the right one marked) comes with the right choice or the
second wrong one. The widget is answered in the browser (course_lib/quiz_widget.py), so Check
and Hint answer at once even while Run All keeps the kernel busy. In the classroom edition
the release removes the answer and the explanations (see autograder.editions), so the widget
only records the choice and says that the explanations come with the graded feedback.

The notebook's Markdown states the question; the widget shows the options once (as radio
buttons), a Check and a Hint button, and its feedback as wrapped text. Without a widget manager
(nbconvert, GitHub) the same output falls back to an HTML list of the options.

>>> q = MultipleChoice(
...     "What does a base model predict?",
...     options={"A": "The next token", "B": "An image label"},
...     answer="A",
...     hint="Look at where its labels come from.",
...     explanations={"A": "Right: the text supplies the labels.", "B": "That is classification."},
... )
>>> q.check("B").startswith("Not quite")
True
>>> MultipleChoice("Same, for a class", options=q.options, hint=q.hint).check("B")[:19]
'Your choice is "B".'

An answer cell's check and the grader read a learner's answer the same way, with `as_choice`:

>>> [as_choice(answer) for answer in (" b ", "(B)", "b)", "B.", "false", True, "AB", "b) two")]
['B', 'B', 'B', 'B', 'False', 'True', 'AB', 'b) two']
"""

from __future__ import annotations

import ast
import html
import re

import numpy as np

PROMPT = "Pick an option, then click Check (or Hint for a nudge)."
MAX_ANSWER_CHARS = 100  # a longer answer is no choice, and is not read
# what may enclose or end a one-letter answer, as in "(B)", "b)", "[c]", "D." or "'A'"
ANSWER_MARKS = "()[]{}.,:;'\"` \t\n"
TRY_AGAIN = "Try another option (or ask for a Hint); the explanations of all options come after."
FEEDBACK_STYLE = (
    "font-family: var(--jp-content-font-family, system-ui, sans-serif); line-height: 1.45;"
    " white-space: normal; overflow-wrap: normal; word-break: normal; max-width: 48rem"
)


def as_choice(value):
    """A multiple-choice answer as the question's options spell it, read as a careful human
    reads it: a letter in capitals, whatever spaces, brackets, quotes or full stop enclose it;
    a true/false answer as "True" or "False"; anything else (several letters, a sentence) is
    returned unchanged, and the check says what a choice looks like. A numpy scalar of a bool or
    a text is read as the one it holds, as the grader reads it (autograder.protocol)."""
    if type(value) in (np.bool_, np.str_):
        value = value.item()
    if type(value) is bool:
        return str(value)
    if type(value) is not str or len(value) > MAX_ANSWER_CHARS:
        return value
    text = value.strip(ANSWER_MARKS)
    if text.lower() in ("true", "false"):
        return text.capitalize()
    return text.upper() if len(text) == 1 and text.isalpha() and text.isascii() else value


class MultipleChoice:
    """One question with 2-5 options, a hint, and (self-paced) an explanation for every option.

    options: {key: text}, keys such as "A".."E" or "True"/"False"; hint: a nudge shown on request.
    answer: the right key and explanations: {key: why this option is right or wrong}, one per
    option; give both (self-paced edition) or neither (classroom edition: no key in the notebook).
    """

    def __init__(self, question: str, *, options: dict, hint: str, answer: str | None = None,
                 explanations: dict | None = None):
        if not 2 <= len(options) <= 5:
            raise ValueError(f"a question needs 2 to 5 options, got {len(options)}")
        if (answer is None) != (explanations is None):
            raise ValueError("give both answer and explanations (self-paced) or neither "
                             "(classroom edition)")
        if answer is not None and answer not in options:
            raise ValueError(f"answer {answer!r} is not one of the options {list(options)}")
        if explanations is not None and set(explanations) != set(options):
            raise ValueError(
                f"explanations must cover exactly the options {list(options)}, "
                f"got {list(explanations)}"
            )
        self.question = question
        self.options = dict(options)
        self.answer = answer
        self.hint = hint
        self.explanations = dict(explanations) if explanations is not None else None

    @property
    def has_key(self) -> bool:
        """True in the self-paced edition (the question can say whether a choice is right)."""
        return self.answer is not None

    def check(self, choice: str) -> str:
        """Feedback text for `choice`: right or wrong and why (self-paced), or where it goes."""
        if choice not in self.options:
            raise ValueError(f"{choice!r} is not one of the options {list(self.options)}")
        if not self.has_key:
            return (f'Your choice is "{choice}". Write it, in quotes, in the answer cell below. '
                    "The explanation of every option comes with your graded feedback.")
        verdict = "Correct!" if choice == self.answer else "Not quite."
        return f"{verdict} {self.explanations[choice]}"

    def explain_all(self, skip: str | None = None) -> str:
        """Every option's explanation by key (but `skip`'s), the right one marked.

        Option texts are not repeated: the radio buttons above already show them.
        """
        if not self.has_key:
            return ""
        return "\n".join(
            f"{'✔' if key == self.answer else '✘'} {key}. {self.explanations[key]}"
            for key in self.options if key != skip
        )

    def feedback_html(self, choice: str | None, wrong_before: int = 1) -> str:
        """The widget's feedback area for `choice` (None: nothing picked yet), as wrapped HTML:
        the verdict with the choice's explanation, then the other options' explanations; but a
        wrong choice with no wrong check before it (`wrong_before` 0) gets a second try instead
        of the other explanations, so the right answer is not given away at once."""
        if choice is None:
            return _paragraphs(["Pick an option first."])
        if self.has_key and choice != self.answer and wrong_before < 1:
            return _paragraphs([self.check(choice), TRY_AGAIN])
        return _paragraphs([self.check(choice), *self.explain_all(skip=choice).splitlines()])

    def hint_html(self) -> str:
        return _paragraphs([f"Hint: {self.hint}"])

    def _question_html(self) -> str:
        """The options as an HTML list: the fallback where widgets cannot be shown."""
        items = "".join(
            f"<li><b>{html.escape(key)}.</b> {html.escape(text)}</li>"
            for key, text in self.options.items()
        )
        return f"<ul style='list-style: none'>{items}</ul>"

    def widget(self):
        """The interactive widget (course_lib/quiz_widget.py): radio buttons, Check and Hint, and a
        feedback area, answered in the browser. It carries every text Check can show: for each
        choice the one `feedback_html` gives after a wrong check, and for each wrong choice of a
        self-paced question (only) the one of a first wrong check, the second try."""
        from course_lib.quiz_widget import QuizWidget

        wrong = [key for key in self.options if self.has_key and key != self.answer]
        return QuizWidget(
            options=[[key, f"{key}. {text}"] for key, text in self.options.items()],
            prompt=_paragraphs([PROMPT]),
            hint=self.hint_html(),
            pick_first=self.feedback_html(None),
            final={key: self.feedback_html(key, wrong_before=1) for key in self.options},
            retry={key: self.feedback_html(key, wrong_before=0) for key in wrong},
        )

    def _ipython_display_(self):
        from IPython.display import display

        data, metadata = self.widget()._repr_mimebundle_()  # anywidget: (data, metadata)
        data["text/html"] = self._question_html()  # shown only where widgets cannot be
        display(data, metadata=metadata, raw=True)
        install_quote_reminder()  # the answer cells below the quiz get the missing-quotes reminder
        install_unanswered_note()  # and a one-line note, not a traceback, while unanswered


def _paragraphs(lines: list[str]) -> str:
    body = "".join(f"<p style='margin: .25rem 0'>{html.escape(line)}</p>" for line in lines)
    return f"<div style='{FEEDBACK_STYLE}'>{body}</div>"


def unquoted_answers(cell_source: str) -> list[tuple[str, str]]:
    """(variable, what to write) for each `answer_... = X` in a cell where X is not a string.

    A quiz answer is the option's key as a string; `answer_q1_1 = C` (a name) or
    `answer_q2_4 = True` (a bool) is the usual slip.

    >>> unquoted_answers('answer_q1_1 = C')
    [('answer_q1_1', 'answer_q1_1 = "C"')]
    >>> unquoted_answers('answer_q2_4 = "True"')
    []
    """
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.startswith("answer_")):
            continue
        value = node.value
        if isinstance(value, ast.Name):
            written = value.id
        elif isinstance(value, ast.Constant) and not isinstance(value.value, str):
            written = repr(value.value)
        else:
            continue
        found.append((node.targets[0].id, f'{node.targets[0].id} = "{written}"'))
    return found


def quote_reminder(cell_source: str) -> str:
    """The message shown after a cell that sets a quiz answer without quotes ("" if none)."""
    return "\n".join(
        f"{variable}: write the option as a string, in quotes: {fixed}"
        for variable, fixed in unquoted_answers(cell_source)
    )


def _after_cell(result) -> None:
    message = quote_reminder(getattr(result.info, "raw_cell", "") or "")
    if message:
        print(message)


def install_quote_reminder(shell=None) -> None:
    """After every cell of an IPython session, remind the learner to quote quiz answers.

    Called when a quiz is first shown (MultipleChoice._ipython_display_), never on import;
    calling it again does nothing.
    """
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None and _after_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _after_cell)


def unanswered_note(cell_source: str, error: BaseException) -> str:
    r"""The one line shown instead of a traceback when a quiz is not answered yet ("" for any
    other error): the answer cell still raising its stub (NotImplementedError, the cell
    naming its answer_... variable), or the quiz's check cell run before the answer was set
    (NameError on an answer_... variable).

    >>> unanswered_note('# your answer: answer_q1_1 = "?"\nraise NotImplementedError()',
    ...                 NotImplementedError())[:40]
    'answer_q1_1 is not answered yet: replace'
    >>> unanswered_note("print(x)", NameError("name 'x' is not defined"))
    ''
    """
    if isinstance(error, NameError):
        named = re.fullmatch(r"name '(answer_\w+)' is not defined", str(error))
        return (f'{named[1]} is not answered yet: write your choice in quotes in the cell above '
                f'(e.g. {named[1]} = "A"), run it, then run this cell again') if named else ""
    if not isinstance(error, NotImplementedError):
        return ""
    try:
        statements = ast.parse(cell_source).body
    except SyntaxError:
        return ""
    variables = re.findall(r"\b(answer_\w+)\s*=", cell_source)
    if not variables or not statements or not all(isinstance(s, ast.Raise) for s in statements):
        return ""
    return (f'{variables[0]} is not answered yet: replace the raise line with your choice, in '
            f'quotes (e.g. {variables[0]} = "A")')


def _note_or_traceback(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for NotImplementedError and NameError: the unanswered-quiz note, or
    the usual traceback for every other cell."""
    history = shell.history_manager.input_hist_raw if shell.history_manager else []
    note = unanswered_note(history[-1] if history else "", value)
    if note:
        print(note)
        return None
    return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install_unanswered_note(shell=None) -> None:
    """In an IPython session, show an unanswered quiz as one line (unanswered_note) instead of
    red tracebacks: the cell still fails (Run All goes on past it only because it is tagged
    raises-exception), but says what to do. Called when a quiz is first shown."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError, NameError), _note_or_traceback)
