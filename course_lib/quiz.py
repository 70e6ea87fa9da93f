"""Multiple-choice questions for self-study: pick an option, ask for a hint, read why.

A question is plain data plus a widget. In JupyterLab the learner picks an option and clicks
"Check"; the widget says whether it is right and explains every option, the wrong ones included.
Run headless (or viewed on GitHub), the cell still shows the question and its options as HTML.

>>> q = MultipleChoice(
...     "What does a base model predict?",
...     options={"A": "The next token", "B": "An image label"},
...     answer="A",
...     hint="Look at where its labels come from.",
...     explanations={"A": "Right: the text supplies the labels.", "B": "That is classification."},
... )
>>> q.check("B").startswith("Not quite")
True
"""

from __future__ import annotations

import html


class MultipleChoice:
    """One question with 2-5 options, a hint, and an explanation for every option.

    options: {key: text}, keys such as "A".."E" or "True"/"False"; answer: the right key;
    explanations: {key: why this option is right or wrong}, one per option.
    """

    def __init__(self, question: str, *, options: dict, answer: str, hint: str, explanations: dict):
        if not 2 <= len(options) <= 5:
            raise ValueError(f"a question needs 2 to 5 options, got {len(options)}")
        if answer not in options:
            raise ValueError(f"answer {answer!r} is not one of the options {list(options)}")
        if set(explanations) != set(options):
            raise ValueError(
                f"explanations must cover exactly the options {list(options)}, "
                f"got {list(explanations)}"
            )
        self.question = question
        self.options = dict(options)
        self.answer = answer
        self.hint = hint
        self.explanations = dict(explanations)

    def check(self, choice: str) -> str:
        """Feedback text for `choice`: right or wrong, then why."""
        if choice not in self.options:
            raise ValueError(f"{choice!r} is not one of the options {list(self.options)}")
        verdict = "Correct!" if choice == self.answer else "Not quite."
        return f"{verdict} {self.explanations[choice]}"

    def explain_all(self) -> str:
        """Every option with its explanation, the right one marked (shown after a check)."""
        lines = []
        for key, text in self.options.items():
            mark = "✔" if key == self.answer else "✘"
            lines.append(f"{mark} {key}. {text}: {self.explanations[key]}")
        return "\n".join(lines)

    def _question_html(self) -> str:
        items = "".join(
            f"<li><b>{html.escape(key)}.</b> {html.escape(text)}</li>"
            for key, text in self.options.items()
        )
        return (
            f"<div><p><b>Question.</b> {html.escape(self.question)}</p>"
            f"<ul style='list-style: none'>{items}</ul></div>"
        )

    def _ipython_display_(self):
        import ipywidgets as widgets
        from IPython.display import HTML, display

        choice = widgets.RadioButtons(
            options=[(f"{key}. {text}", key) for key, text in self.options.items()],
            value=None,
            layout=widgets.Layout(width="auto"),
        )
        check_button = widgets.Button(description="Check", button_style="primary")
        hint_button = widgets.Button(description="Hint")
        feedback = widgets.Output()
        feedback.append_stdout("Pick an option, then click Check (or Hint for a nudge).\n")

        def on_check(_):
            feedback.clear_output()
            with feedback:
                if choice.value is None:
                    print("Pick an option first.")
                    return
                print(self.check(choice.value))
                print()
                print(self.explain_all())

        def on_hint(_):
            feedback.clear_output()
            with feedback:
                print("Hint:", self.hint)

        check_button.on_click(on_check)
        hint_button.on_click(on_hint)
        display(HTML(self._question_html()))
        display(widgets.VBox([choice, widgets.HBox([check_button, hint_button]), feedback]))
