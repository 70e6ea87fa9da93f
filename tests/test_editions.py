"""The two editions: the classroom edition ships no quiz key in any form; self-paced quizzes work.

The leak tests read every quiz of every source notebook (autograder.quiz_keys), so a quiz a
chapter adds is covered without naming it here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
import shutil

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course_folder import Course, default_course_root
from autograder.editions import classroom_quiz_source, is_quiz_cell, strip_quiz_keys
from autograder.item_names import item_names, label_in
from autograder.quiz_keys import QuizError, literal_arguments, quiz_call, read_quiz_keys
from autograder.release import release_assignment
from course_lib.quiz import MultipleChoice, install_quote_reminder, quote_reminder

COURSE = default_course_root()
CHAPTERS = Course(COURSE).assignments()


def source_notebook(chapter: str):
    return nbformat.read(COURSE / "source" / chapter / f"{chapter}.ipynb", as_version=4)


def all_strings(node):
    """Every string in a JSON tree, base64 payloads (attachments, images) decoded too."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from all_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_strings(value)
    elif isinstance(node, str):
        yield node
        try:
            yield base64.b64decode(node, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            pass


def haystack(path) -> str:
    """Everything a student can read in a notebook file: raw JSON and every decoded string."""
    raw = path.read_text()
    return "\n".join([raw, *all_strings(json.loads(raw))])


def key_needles(key) -> list[str]:
    """Strings whose presence would give a quiz's answer or explanations away."""
    needles = [text for text in key.explanations.values()]
    needles += [html.escape(text) for text in needles] + [json.dumps(t)[1:-1] for t in needles]
    needles += [f'{key.variable} = "{key.answer}"', f"{key.variable} = '{key.answer}'"]
    for salt in ("", key.answer_id, key.question):
        for algorithm in ("md5", "sha1", "sha256"):
            needles.append(hashlib.new(algorithm, (salt + key.answer).encode()).hexdigest())
    return needles


def rotate_keys(notebook):
    """The same notebook with every quiz's answer moved to the next option and new explanations."""
    for index, cell in enumerate(notebook.cells):
        if not is_quiz_cell(cell):
            continue
        arguments = literal_arguments(quiz_call(cell.source))
        keys = list(arguments["options"])
        new_answer = keys[(keys.index(arguments["answer"]) + 1) % len(keys)]
        explanations = {k: f"rotated explanation {index} {k}" for k in keys}
        cell.source = (f"MultipleChoice({arguments['question']!r}, "
                       f"options={arguments['options']!r}, answer={new_answer!r}, "
                       f"hint={arguments['hint']!r}, explanations={explanations!r})")
        answer_cell = notebook.cells[index + 1]
        answer_cell.source = answer_cell.source.replace(f'= "{arguments["answer"]}"',
                                                        f'= "{new_answer}"')
    return notebook


def build_course(root, rotate: bool = False):
    shutil.copytree(COURSE / "source", root / "source")
    shutil.copy(COURSE / "nbgrader_config.py", root)
    if rotate:
        for chapter in CHAPTERS:
            path = root / "source" / chapter / f"{chapter}.ipynb"
            nbformat.write(rotate_keys(nbformat.read(path, as_version=4)), path)
    course = Course(root)
    for chapter in CHAPTERS:
        release_assignment(course, chapter, root / "notebooks")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A fresh course released twice: as it is, and with every quiz key rotated."""
    return (build_course(tmp_path_factory.mktemp("course")),
            build_course(tmp_path_factory.mktemp("rotated"), rotate=True))


def released(root, chapter):
    return root / "release" / chapter / f"{chapter}.ipynb"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_classroom_edition_contains_no_key_or_explanation(built, chapter):
    keys = read_quiz_keys(source_notebook(chapter))
    assert keys, f"{chapter} has no quiz"
    text = haystack(released(built[0], chapter))
    for key in keys.values():
        leaked = [needle for needle in key_needles(key) if needle in text]
        assert not leaked, f"{chapter} {key.answer_id}: the classroom edition contains {leaked}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_classroom_edition_does_not_depend_on_the_keys(built, chapter):
    """Rotating every answer and rewriting every explanation leaves the classroom edition the
    same, byte for byte: nothing in it (not even a hash) is derived from a key."""
    original, rotated = (released(root, chapter).read_bytes() for root in built)
    assert original == rotated


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_classroom_quizzes_keep_question_options_and_hint(built, chapter):
    keys = read_quiz_keys(source_notebook(chapter))
    notebook = nbformat.read(released(built[0], chapter), as_version=4)
    quizzes = [literal_arguments(quiz_call(c.source)) for c in notebook.cells if is_quiz_cell(c)]
    assert len(quizzes) == len(keys)
    for arguments, key in zip(quizzes, keys.values(), strict=True):
        assert arguments == {"question": key.question, "options": key.options, "hint": key.hint}
        widget = MultipleChoice(arguments.pop("question"), **arguments)
        assert not widget.has_key
        assert "graded feedback" in widget.check(next(iter(key.options)))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_quiz_code_is_collapsed_in_both_editions(built, chapter):
    """The Markdown states the question and the widget shows the options: the code that builds
    the widget, which repeats both, starts collapsed."""
    for path in (released(built[0], chapter), built[0] / "notebooks" / f"{chapter}.ipynb"):
        quizzes = [c for c in nbformat.read(path, as_version=4).cells if is_quiz_cell(c)]
        assert quizzes and all(c.metadata["jupyter"]["source_hidden"] for c in quizzes)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_self_paced_widget_checks_every_answer(built, chapter):
    notebook = nbformat.read(built[0] / "notebooks" / f"{chapter}.ipynb", as_version=4)
    keys = read_quiz_keys(source_notebook(chapter)).values()
    quizzes = [literal_arguments(quiz_call(c.source)) for c in notebook.cells if is_quiz_cell(c)]
    assert len(quizzes) == len(keys)
    for arguments, key in zip(quizzes, keys, strict=True):
        assert (arguments["answer"], arguments["explanations"]) == (key.answer, key.explanations)
        question = arguments.pop("question")
        widget = MultipleChoice(question, **arguments).widget()
        for option in key.options:  # each option as a learner's first check, then for good
            verdict = "Correct!" if option == key.answer else "Not quite."
            first = widget.retry.get(option, widget.final[option])
            assert verdict in first and html.escape(key.explanations[option]) in first
            if option != key.answer:  # a second try first; the second wrong check explains all
                assert html.escape(key.explanations[key.answer]) not in first
            assert all(html.escape(text) in widget.final[option]
                       for text in key.explanations.values())
        assert html.escape(key.hint) in widget.hint


quiz_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                    max_size=40)


@st.composite
def quizzes(draw):
    keys = draw(st.sampled_from([["A", "B"], ["A", "B", "C"], ["A", "B", "C", "D"],
                                 ["A", "B", "C", "D", "E"], ["True", "False"]]))
    options = {key: draw(quiz_text) for key in keys}
    return dict(question=draw(quiz_text), options=options, hint=draw(quiz_text),
                answer=draw(st.sampled_from(keys)),
                explanations={key: "why " + draw(quiz_text) for key in keys})


def quiz_notebook(quiz: dict, answer: str, explanations: dict):
    code = (f"MultipleChoice({quiz['question']!r}, options={quiz['options']!r}, "
            f"answer={answer!r}, hint={quiz['hint']!r}, explanations={explanations!r})")
    cell = nbformat.v4.new_code_cell(code, id="quiz", metadata={"tags": ["quiz"], "key": answer,
                                                              "explanations": explanations})
    cell.outputs = [nbformat.v4.new_output("stream", text=json.dumps(explanations))]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata["widgets"] = {"state": {"answer": answer, "explanations": explanations}}
    return notebook


@settings(max_examples=60, deadline=None)
@given(quizzes(), st.data())
def test_stripping_is_independent_of_answer_and_explanations(quiz, data):
    """For any quiz, wherever the key sits in the cell or the notebook, the classroom version
    is the same whatever the answer and the explanations are."""
    other_answer = data.draw(st.sampled_from(list(quiz["options"])))
    other_explanations = {key: "other " + data.draw(quiz_text) for key in quiz["options"]}
    first = strip_quiz_keys(quiz_notebook(quiz, quiz["answer"], quiz["explanations"]))
    second = strip_quiz_keys(quiz_notebook(quiz, other_answer, other_explanations))
    assert nbformat.writes(first) == nbformat.writes(second)
    assert first.cells[0].metadata == {"tags": ["quiz"], "jupyter": {"source_hidden": True}}
    arguments = literal_arguments(quiz_call(first.cells[0].source))
    assert arguments == {key: quiz[key] for key in ("question", "options", "hint")}


def test_a_quiz_cell_with_anything_else_in_it_is_refused():
    with pytest.raises(QuizError, match="only one MultipleChoice"):
        quiz_call('q = MultipleChoice("Q?", options={}, answer="A", hint="", explanations={})')
    with pytest.raises(QuizError, match="literal arguments"):
        classroom_quiz_source('MultipleChoice(QUESTION, options={}, hint="")')


def test_a_quiz_whose_answer_cell_disagrees_is_refused():
    notebook = source_notebook(CHAPTERS[0])
    index = next(i for i, cell in enumerate(notebook.cells) if is_quiz_cell(cell))
    arguments = literal_arguments(quiz_call(notebook.cells[index].source))
    other = next(key for key in arguments["options"] if key != arguments["answer"])
    answer_cell = notebook.cells[index + 1]
    answer_cell.source = answer_cell.source.replace(f'= "{arguments["answer"]}"', f'= "{other}"')
    with pytest.raises(QuizError, match="its answer cell sets"):
        read_quiz_keys(notebook)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_quiz_answer_cell_gets_the_quote_reminder(chapter):
    """`answer_qX_Y = C` (no quotes) in any quiz answer cell prints a reminder to quote it."""
    for key in read_quiz_keys(source_notebook(chapter)).values():
        unquoted = f"{key.variable} = {key.answer}"
        assert f'{key.variable} = "{key.answer}"' in quote_reminder(unquoted)
        assert quote_reminder(f'{key.variable} = "{key.answer}"') == ""


def test_the_quote_reminder_follows_the_error_in_ipython(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    install_quote_reminder(shell)
    install_quote_reminder(shell)  # idempotent
    shell.run_cell("answer_q1_1 = C")
    shell.run_cell('answer_q1_2 = "C"')
    out = capsys.readouterr().out
    assert "NameError" in out
    assert out.count('write the option as a string, in quotes: answer_q1_1 = "C"') == 1
    assert "answer_q1_2:" not in out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_graded_item_is_named_as_its_chapter_names_it(chapter):
    """Names come from the chapter's own headings and labels: none is a grade id, exercises
    keep their title, and the numbers are the chapter's."""
    number = re.match(r"ch(\d+)_", chapter).group(1)
    names = item_names(source_notebook(chapter))
    quizzes = read_quiz_keys(source_notebook(chapter))
    for grade_id, name in names.items():
        assert re.fullmatch(rf"(Exercise {number}\.\d+ — \S.*|Question {number}\.\d+)", name), name
        if grade_id in quizzes:
            assert name.startswith("Question")
    repeated = sorted({name for name in names.values() if list(names.values()).count(name) > 1})
    assert not repeated, f"two graded items share a label: {repeated}"


titles = st.text(st.characters(categories=("L", "N"), include_characters=" ,'()-"),
                 min_size=1, max_size=30).map(str.strip).filter(
    lambda t: t and not t.endswith(")") and "(" not in t and t[0] not in "-")


@given(st.integers(1, 20), st.integers(1, 20), titles, st.integers(1, 9),
       st.sampled_from(["##", "###", "####"]))
def test_exercise_headings_give_their_label_and_title(chapter, item, title, points, level):
    heading = f"{level} Exercise {chapter}.{item} — {title} ({points} points)\n\nWrite ..."
    assert label_in(heading) == f"Exercise {chapter}.{item} — {title}"


@given(st.integers(1, 20), st.integers(1, 20),
       st.sampled_from(["", " (written, 3 points)", " (true or false)"]), titles)
def test_question_labels_give_their_number(chapter, item, aside, text):
    assert label_in(f"**Question {chapter}.{item}{aside}.** {text}") == \
        f"Question {chapter}.{item}"
