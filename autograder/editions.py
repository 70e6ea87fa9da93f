"""The two editions of a chapter, both built from its one source notebook.

- Classroom edition (`<course>/release/`, what `llmf-grade release` gives a class): nbgrader's
  student version (solutions stubbed, hidden tests removed, outputs cleared), in which every quiz
  cell is rewritten as `MultipleChoice("question", options={...}, hint="...")`: no answer, no
  explanations. Nothing else of a quiz cell survives (outputs, metadata other than its tags),
  and saved widget state is dropped from the notebook's metadata, so no key is shipped in
  any form. `strip_quiz_keys` does this inside nbgrader's generate_assignment
  (autograder.release.StripQuizKeys), so Formgrader's "Generate" button builds the same edition.
  This module needs no nbgrader: a learner's `check` and the grader's variants use it too.
- Self-paced edition (`notebooks/`, what `make course` opens): the classroom edition with each
  quiz cell's source put back from the source notebook, so the widget checks answers at once.

In both, a quiz cell's code is collapsed (JupyterLab's `source_hidden`): the Markdown above it
states the question, the widget shows the options, each once.

The answer key used for grading and feedback is always read from the source notebook
(autograder.quiz_keys).
"""

from __future__ import annotations

import copy

from autograder.quiz_keys import QUIZ_CLASS, literal_arguments, quiz_call

NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info")


def classroom_quiz_source(code: str) -> str:
    """The classroom version of a quiz cell's code: question, options and hint, nothing else.

    >>> print(classroom_quiz_source('MultipleChoice("Q?", options={"A": "a", "B": "b"}, '
    ...                             'answer="B", hint="h", explanations={"A": "x", "B": "y"})'))
    MultipleChoice(
        'Q?',
        options={
            'A': 'a',
            'B': 'b',
        },
        hint='h',
    )
    """
    return classroom_quiz_text(literal_arguments(quiz_call(code)))


def classroom_quiz_text(arguments: dict) -> str:
    """The classroom quiz cell's code for a quiz's arguments (see `classroom_quiz_source`)."""
    options = "".join(f"        {key!r}: {text!r},\n" for key, text in arguments["options"].items())
    return (f"{QUIZ_CLASS}(\n    {arguments['question']!r},\n    options={{\n{options}    }},\n"
            f"    hint={arguments.get('hint', '')!r},\n)")


def is_quiz_cell(cell) -> bool:
    """True for a code cell holding a quiz (its text names the class before it is parsed)."""
    return (cell.cell_type == "code" and QUIZ_CLASS in cell.source
            and quiz_call(cell.source) is not None)


def strip_quiz_keys(notebook):
    """Turn a student notebook (nbformat node) into the classroom edition, in place; return it."""
    for cell in notebook.cells:
        if is_quiz_cell(cell):
            cell.source = classroom_quiz_source(cell.source)
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.get("tags")
            cell.metadata = {"jupyter": {"source_hidden": True}, **({"tags": tags} if tags else {})}
    notebook.metadata = {key: value for key, value in notebook.metadata.items()
                         if key in NOTEBOOK_METADATA_KEPT}
    return notebook


def self_paced_edition(classroom, source):
    """The self-paced edition: a copy of the classroom edition with quiz cells from the source."""
    notebook = copy.deepcopy(classroom)
    if len(notebook.cells) != len(source.cells):
        raise ValueError("the classroom edition and its source have different numbers of cells")
    for cell, original in zip(notebook.cells, source.cells, strict=True):
        if is_quiz_cell(original):
            cell.source = original.source
    return notebook
