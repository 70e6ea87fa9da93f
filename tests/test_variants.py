"""Per-student variants (issue 22, part 1): each student's own quiz order, numbers and hidden
inputs, graded against their own variant; another student's notebook flagged.

The properties run the transformation on the course's own chapters without a kernel; the class
at the end releases Chapter 3 per student and grades it, on the local pool and on Dask.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import synthetic
import synthetic_class
from grading_cli import FAST, ROOT, llmf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.class_variants import (
    KEY_FILE,
    MANIFEST,
    PER_STUDENT,
    ClassVariants,
    RosterError,
    read_roster,
    variant_seed,
    write_manifest,
)
from autograder.course_folder import Course
from autograder.editions import strip_quiz_keys
from autograder.grader.plan import release_version, role, split_hidden, text_digest
from autograder.grader.submission import variant_findings
from autograder.quiz_keys import literal_arguments, quiz_call, read_quiz_keys
from autograder.records import Status, load_result
from autograder.variants import (
    Variant,
    apply_variant,
    render_table,
    signature_cells,
    variant_signature,
    variant_tables,
)

SOURCES = {path.parent.name: nbformat.read(path, as_version=4)
           for path in sorted((ROOT / "course" / "source").glob("*/*.ipynb"))}
CH3 = "ch3_pretraining_objective"
SEEDS = st.integers(0, 2**64 - 1)
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s)
SOME = settings(max_examples=10, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def classroom(source):
    """The classroom edition's cells as nbgrader's generate_assignment makes them (solutions
    stubbed, hidden tests removed, quiz keys stripped)."""
    return strip_quiz_keys(release_version(source))


CLASSROOM = {id(source): classroom(source) for source in SOURCES.values()}


def made(notebook, seed: int, source=None):
    """`notebook` (a source, or the classroom edition of `source`) made into a variant."""
    return apply_variant(notebook, variant_tables(source or notebook), Variant("ada", seed))


# ---- the transformation ----------------------------------------------------------------------

@SOME
@given(seed=SEEDS)
def test_a_variant_is_deterministic_and_keeps_every_quiz_right(seed):
    """Any seed gives the same variant twice; each quiz's right answer is the same option text
    under its new letter, each explanation stays with its option, and the answer cell sets the
    new letter (read_quiz_keys checks it against the quiz)."""
    for source in SOURCES.values():
        variant = made(source, seed)
        assert nbformat.writes(variant) == nbformat.writes(made(source, seed))
        before, after = read_quiz_keys(source), read_quiz_keys(variant)
        assert list(before) == list(after)
        for test_id, key in after.items():
            original = before[test_id]
            if original.question == key.question:  # numbers drawn change the texts themselves
                assert key.options[key.answer] == original.options[original.answer]
                assert ({key.options[k]: key.explanations[k] for k in key.options}
                        == {original.options[k]: original.explanations[k]
                            for k in original.options})
            assert sorted(key.options) == sorted(original.options)


def test_two_students_get_different_orders_numbers_and_hidden_inputs():
    source = SOURCES[CH3]
    seeds = [variant_seed(b"", student, CH3, CH3) for student in ("ada", "bob")]
    ada, bob = (made(source, seed) for seed in seeds)
    quizzes = [literal_arguments(quiz_call(c.source))["options"] for c in ada.cells
               if c.cell_type == "code" and quiz_call(c.source)]
    theirs = [literal_arguments(quiz_call(c.source))["options"] for c in bob.cells
              if c.cell_type == "code" and quiz_call(c.source)]
    assert quizzes != theirs  # the option order
    numbers = [c.source for c in (ada, bob) for c in c.cells if c.get("id") == "fd1cbccf"]
    assert numbers[0] != numbers[1], "the probabilities of question 3.3"
    hidden = [[split_hidden(c.source)[1] for c in nb.cells if "default_rng" in c.source]
              for nb in (ada, bob)]
    assert hidden[0] != hidden[1]
    visible = [[split_hidden(c.source)[0] for c in nb.cells if role(c).get("grade")]
               for nb in (ada, bob, source)]
    assert visible[0] == visible[1] == visible[2], "a variant changes no visible check"


def test_every_table_gives_the_source_back_and_distinct_options_for_every_draw():
    """The first value of every parameter is the source's own (the self-paced and class-wide
    editions are that variant), and every combination of the drawn values renders, with the
    quiz's options all different (checked exhaustively)."""
    tables = {(name, chapter): (table, source) for chapter, source in SOURCES.items()
              for name, table in variant_tables(source).items()}
    assert {name for name, _ in tables} >= {"q3_3_2", "q4_3_2"}
    for (name, _), (table, source) in tables.items():
        cells = [cell for cell in source.cells if cell.get("id") in table["cells"]]
        assert len(cells) == len(table["cells"]), f"{name}: every cell it names exists"
        for cell in cells:
            assert render_table(cell.source, name, table, None) == cell.source
        used = {literal for literal in table["text"]
                for cell in cells if literal in cell.source}
        assert used == set(table["text"]), f"{name}: every literal occurs in its cells"
        parameters = list(table["draw"])
        for values in itertools.product(*(table["draw"][p] for p in parameters)):
            one = dict(table, draw={p: [v] for p, v in zip(parameters, values, strict=True)})
            for cell in cells:
                if quiz_call(cell.source):
                    options = literal_arguments(
                        quiz_call(render_table(cell.source, name, one, None)))["options"]
                    assert len(set(options.values())) == len(options), (name, values)


@SOME
@given(seed=SEEDS)
def test_the_grader_recomputes_what_the_student_was_given(seed):
    """A variant of the classroom edition (what a student gets) shows, cell for cell, what the
    grader computes from the source's variant (variant_signature)."""
    for source in SOURCES.values():
        cells = signature_cells(source)
        given_to_student = made(CLASSROOM[id(source)], seed, source)
        by_id = {cell.get("id"): cell.source for cell in given_to_student.cells}
        assert variant_signature(made(source, seed), cells) == {
            cell: text_digest(by_id[cell]) for cell in cells}


# ---- recognising a student's own variant ------------------------------------------------------

@pytest.fixture(scope="module")
def class_of_four(tmp_path_factory):
    """Chapter 3's source in a course folder whose roster is ada, bob, cy and dee."""
    root = tmp_path_factory.mktemp("variants")
    shutil.copytree(ROOT / "course" / "source" / CH3, root / "source" / CH3)
    write_manifest(Course(root), ["ada", "bob", "cy", "dee"], use_key=True)
    return ClassVariants(Course(root))


def handed_in(variants: ClassVariants, student: str | None):
    """A student's file as JSON (student None: the class-wide edition)."""
    release = classroom(variants.base_source(CH3, CH3))
    if student is not None:
        release = apply_variant(release, variant_tables(variants.base_source(CH3, CH3)),
                                variants.variant(student, CH3, CH3))
    return json.loads(nbformat.writes(release))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.permutations(["ada", "bob", "cy", "dee"]))
def test_a_classmates_notebook_is_named_and_ones_own_is_not(class_of_four, pair):
    student, classmate = pair[:2]
    check = class_of_four.plan(student, CH3, CH3).variant
    assert variant_findings(handed_in(class_of_four, student), check) == ("", [])
    problem, _ = variant_findings(handed_in(class_of_four, classmate), check)
    assert problem.startswith(f"the notebook is {classmate}'s variant, not {student}'s own")


def with_own_copies(notebook: dict, own: dict, where: str) -> dict:
    """`notebook` with a copy of each cell of `own` that a variant decides (same id), put
    before or after its cells."""
    check_ids = {cell.get("id") for cell in notebook["cells"]}
    copies = [cell for cell in own["cells"] if cell.get("id") in check_ids
              and cell not in notebook["cells"]]
    cells = copies + notebook["cells"] if where == "before" else notebook["cells"] + copies
    return {**notebook, "cells": cells, "metadata": own["metadata"]}


def test_a_classmates_cells_are_seen_beside_copies_of_ones_own(class_of_four):
    """A classmate's notebook with copies of one's own variant's cells (same cell ids) added at
    its end: the check used to read only the last cell of an id, and found one's own variant."""
    variants = class_of_four
    check = variants.plan("ada", CH3, CH3).variant
    notebook = with_own_copies(handed_in(variants, "bob"), handed_in(variants, "ada"), "after")
    problem, _ = variant_findings(notebook, check)
    assert problem.startswith("the notebook is bob's variant, not ada's own")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.permutations(["ada", "bob", "cy", "dee"]),
       where=st.sampled_from(["before", "after"]))
def test_no_copy_of_ones_own_cells_hides_a_classmates(class_of_four, pair, where):
    """Property: every cell of an id is compared, wherever the copies stand: a notebook holding
    a classmate's cells is never read as one's own variant."""
    student, classmate = pair[:2]
    check = class_of_four.plan(student, CH3, CH3).variant
    notebook = with_own_copies(handed_in(class_of_four, classmate),
                               handed_in(class_of_four, student), where)
    problem, _ = variant_findings(notebook, check)
    assert problem.startswith(f"the notebook is {classmate}'s variant, not {student}'s own")


def test_the_class_wide_edition_and_an_unmarked_notebook_are_flagged(class_of_four):
    check = class_of_four.plan("ada", CH3, CH3).variant
    problem, _ = variant_findings(handed_in(class_of_four, None), check)
    assert problem.startswith("the notebook is the class-wide edition, not ada's own variant")
    edited = handed_in(class_of_four, "bob")
    del edited["metadata"]["llmf_variant"]
    for cell in edited["cells"]:
        if cell.get("id") in check.expected:
            cell["source"] = "edited"
    problem, _ = variant_findings(edited, check)
    assert problem.startswith("the notebook carries no variant")
    own = handed_in(class_of_four, "ada")
    own["cells"][[c.get("id") for c in own["cells"]].index("fd1cbccf")]["source"] += " my note"
    assert variant_findings(own, check) == ("", [
        "1 of the 9 cells ada's own variant decides were edited"])


HOSTILE_TEXT = st.text(min_size=8, max_size=40).map(lambda text: "zz" + text)
HOSTILE_CELL = st.fixed_dictionaries({
    "id": st.one_of(st.sampled_from(["fd1cbccf", "90f625bd", "d7e62d15"]), HOSTILE_TEXT,
                    st.integers(), st.lists(st.text(max_size=3)), st.none()),
    "source": st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, max_size=3), st.integers(),
                        st.none()),
})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.one_of(HOSTILE_CELL, st.integers(), HOSTILE_TEXT), max_size=12),
       stamp=st.one_of(st.none(), HOSTILE_TEXT, st.fixed_dictionaries({"mark": HOSTILE_TEXT})))
def test_any_submitted_cells_give_a_reason_in_the_graders_words(class_of_four, cells, stamp):
    """Whatever cells and mark a file holds, the check answers (never raises), and its reason
    holds no text of the file: only the grader's words and the roster's names."""
    notebook = {"cells": cells, "metadata": {"llmf_variant": stamp}}
    problem, review = variant_findings(notebook, class_of_four.plan("ada", CH3, CH3).variant)
    assert problem.startswith(("the notebook carries no variant", "the notebook is "))
    assert "zz" not in problem and not any("zz" in line for line in review)


def test_a_students_source_digest_names_their_plan(class_of_four):
    """grade skips a recorded result by the source digest alone, before reading the plan:
    the two must agree (a student without a variant has the source's own)."""
    for student in ("ada", "zoe"):
        assert class_of_four.source_digest(student, CH3, CH3) == class_of_four.plan(
            student, CH3, CH3).digest
    assert class_of_four.plan("zoe", CH3, CH3).variant is None


def test_a_keyed_variant_is_not_the_unkeyed_one(class_of_four):
    keyed = class_of_four.variant("ada", CH3, CH3).seed
    assert keyed == variant_seed(class_of_four.key, "ada", CH3, CH3)
    assert keyed != variant_seed(b"llmf-grade variants without a course key", "ada", CH3, CH3)


@SOME
@given(student=IDS)
def test_any_student_id_has_one_variant(student):
    assert variant_seed(b"k", student, CH3, CH3) == variant_seed(b"k", student, CH3, CH3)
    assert variant_seed(b"k", student, CH3, CH3) != variant_seed(b"k", student + "x", CH3, CH3)


def test_the_synthetic_class_s_swapped_notebooks_are_each_flagged(tmp_path):
    """The synthetic class (tests/synthetic_class.py) written per student: every student who
    hands in a classmate's notebook is flagged with that classmate's name, and nobody else."""
    source = ROOT / "course" / "source" / CH3 / f"{CH3}.ipynb"
    made_class = synthetic_class.synthetic_class({CH3: str(source)}, honest=5, copied_pairs=1,
                                                 published_copies=1, seed=2, swapped=2)
    course = synthetic_class.write_per_student(tmp_path, {CH3: source}, made_class)
    flags = synthetic_class.variant_flags(course, CH3, made_class.answers)
    assert sorted(flags) == sorted(student for student, _ in made_class.swapped) == ["s00", "s01"]
    for student, classmate in made_class.swapped:
        assert flags[student].startswith(f"the notebook is {classmate}'s variant, not "
                                         f"{student}'s own variant")


# ---- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("student\nada\nbob\nada\n", "line 4: student 'ada' is listed twice (first on line 2)"),
    ("student,name\nada,Ada\nb/ob,Bob\n", "line 3: 'b/ob' is not a usable student id"),
    ("name,student\nAda,\nBob,bob\n", "line 2 has no student id"),
    ("student\n", "lists no student"),
    ("student\nBob\nada\nbob\n",
     "line 4: student 'bob' is 'Bob' of line 2 spelled otherwise"),
])
def test_a_bad_roster_is_refused_naming_the_student(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(RosterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_roster(path)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.from_regex(r"[aAbB1][aAbB1.@-]{0,3}", fullmatch=True).filter(
    lambda student: not student.endswith(".") and ".." not in student), min_size=1,
    max_size=6))
def test_a_roster_gives_each_student_a_folder_of_their_own_on_any_disk(tmp_path, ids):
    """Property: a roster is read only if no two of its ids are one id spelled otherwise
    (`course_folder.id_key`: `Bob` and `bob`), whose per-student folders a disk that ignores
    case (macOS's, Windows') makes one, so one student would be handed the other's variant;
    otherwise it is refused naming the line."""
    path = tmp_path / "roster.csv"
    path.write_text("student\n" + "".join(f"{student}\n" for student in ids))
    if len({student.casefold() for student in ids}) == len(ids):
        assert read_roster(path) == ids
    else:
        with pytest.raises(RosterError, match="line"):
            read_roster(path)


def test_a_longer_roster_cannot_spell_an_earlier_student_otherwise(tmp_path):
    """A re-release's roster joins the earlier one: `bob` after `Bob` is refused, nothing
    written."""
    shutil.copytree(ROOT / "course" / "source" / CH3, tmp_path / "source" / CH3)
    course = Course(tmp_path)
    write_manifest(course, ["Bob"], use_key=False)
    before = (tmp_path / MANIFEST).read_text()
    with pytest.raises(RosterError, match="'bob' is 'Bob' spelled otherwise"):
        write_manifest(course, ["ada", "bob"], use_key=False)
    assert (tmp_path / MANIFEST).read_text() == before


def test_a_roster_reads_its_student_column_or_its_first(tmp_path):
    (tmp_path / "a.csv").write_text("Name,Username\nAda L,ada\nBob M,bob\n")
    (tmp_path / "b.csv").write_text("ada\nbob@uni.edu\n")
    assert read_roster(tmp_path / "a.csv") == ["ada", "bob"]
    assert read_roster(tmp_path / "b.csv") == ["ada", "bob@uni.edu"]


def test_release_refuses_a_bad_roster_in_one_line(tmp_path, capsys):
    shutil.copytree(ROOT / "course" / "source" / CH3, tmp_path / "source" / CH3)
    (tmp_path / "roster.csv").write_text("student\nada\nada\n")
    assert llmf(tmp_path, "release", "--per-student", "--roster", tmp_path / "roster.csv") == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "'ada' is listed twice" in error
    assert not (tmp_path / "release").exists() and not (tmp_path / MANIFEST).exists()


def test_a_missing_course_key_stops_grading_before_anything_changes(tmp_path, capsys):
    shutil.copytree(ROOT / "course" / "source" / CH3, tmp_path / "c" / "source" / CH3)
    course = Course(tmp_path / "c")
    write_manifest(course, ["ada"], use_key=True)
    (course.root / KEY_FILE).unlink()
    (course.root / "release" / CH3).mkdir(parents=True)
    submitted = course.submission("ada", CH3, CH3)
    submitted.parent.mkdir(parents=True)
    submitted.write_text("{}")
    recorded = course.result("ada", CH3, CH3)
    recorded.parent.mkdir(parents=True)
    recorded.write_text("a grade recorded earlier")
    for command in ("grade", "export", "feedback"):
        assert llmf(course.root, command) == 1
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0
        assert f"the course key {course.root / KEY_FILE} is missing" in error
    assert recorded.read_text() == "a grade recorded earlier"


def test_a_release_may_add_students_but_not_change_the_key_setting(tmp_path):
    (tmp_path / "source").mkdir()
    course = Course(tmp_path)
    key = write_manifest(course, ["ada"], use_key=True)
    assert write_manifest(course, ["bob"], use_key=True) == key
    assert ClassVariants(course).students == ["ada", "bob"]
    with pytest.raises(RuntimeError, match="made with a course key; releasing without one"):
        write_manifest(course, ["cy"], use_key=False)


# ---- a class graded: the local pool and Dask ------------------------------------------------

def write_class(root: Path) -> ClassVariants:
    """Chapter 3 released per student to ada, bob, cy and dee; collected: ada and bob answer
    their own variants right, cy hands in bob's notebook, dee answers her own file with bob's
    quiz letters, and eve (not on the roster) hands in the class-wide edition."""
    shutil.copytree(ROOT / "course" / "source" / CH3, root / "source" / CH3)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    (root / "roster.csv").write_text("student\nada\nbob\ncy\ndee\n")
    assert llmf(root, "release", "--per-student", "--roster", root / "roster.csv",
                "--course-key") == 0
    variants = ClassVariants(Course(root))

    def own(student, answers_of=None):
        release = nbformat.read(root / PER_STUDENT / CH3 / student / f"{CH3}.ipynb",
                                as_version=4)
        nbformat.validate(release)
        return synthetic.with_answers(release, synthetic.plan_answers(
            variants.plan(answers_of or student, CH3, CH3)))

    files = {"ada": own("ada"), "bob": own("bob"), "cy": own("bob"), "dee": own("dee", "bob"),
             "eve": synthetic.student_notebook(ROOT / "course" / "source" / CH3 / f"{CH3}.ipynb",
                                               synthetic.correct_answers(
                                                   root / "source" / CH3 / f"{CH3}.ipynb"))}
    for student, notebook in files.items():
        path = Course(root).submission(student, CH3, CH3)
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    return variants


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("graded")
    variants = write_class(root)
    return root, variants


def outcomes(root: Path) -> dict[str, tuple]:
    found = {}
    for student in ("ada", "bob", "cy", "dee", "eve"):
        path = Course(root).result(student, CH3, CH3)
        if path.exists():
            result = load_result(path)
            found[student] = (result.status, result.reason, result.scores)
    return found


def test_each_student_is_graded_against_their_own_variant(graded_class, capsys):
    root, variants = graded_class
    assert llmf(root, "grade", *FAST) == 1  # eve has no variant
    assert ("student 'eve' has no variant (not on the roster of `llmf-grade release "
            "--per-student`)") in capsys.readouterr().err
    found = outcomes(root)
    assert "eve" not in found, "a student without a variant is not graded"
    quizzes = [g for g in read_quiz_keys(variants.source("ada", CH3, CH3))]
    for student in ("ada", "bob"):
        status, reason, scores = found[student]
        assert status == Status.NEEDS_MANUAL_GRADING and reason == ""
        assert all(score == points for score, points in scores.values() if score is not None)
    status, reason, scores = found["cy"]
    assert status == Status.WRONG_VARIANT
    assert reason.startswith("the notebook is bob's variant, not cy's own variant")
    _, _, dee = found["dee"]
    lost = [g for g in quizzes if dee[g][0] == 0]
    assert lost, "bob's letters on dee's own options lose points"
    same = [g for g in quizzes if read_quiz_keys(variants.source("dee", CH3, CH3))[g].answer
            == read_quiz_keys(variants.source("bob", CH3, CH3))[g].answer]
    assert sorted(set(quizzes) - set(lost)) == sorted(same), "only where the letters agree"
    assert llmf(root, "export", root / "grades.csv") == 0
    rows = (root / "grades.csv").read_text()
    assert "wrong_variant" in rows and "bob's variant, not cy's own" in rows
    assert llmf(root, "feedback", "--student", "cy", "--student", "dee") == 0
    page = Course(root).feedback("dee", CH3, CH3).read_text()
    dee_key, bob_key = (read_quiz_keys(variants.source(s, CH3, CH3))[lost[0]]
                        for s in ("dee", "bob"))
    assert f"your answer {bob_key.answer}, the right answer {dee_key.answer}, because" in page
    assert "bob&#x27;s variant, not cy&#x27;s own" in Course(root).feedback(
        "cy", CH3, CH3).read_text()


def test_dask_grades_a_variant_class_as_the_local_pool_does(graded_class, tmp_path):
    pytest.importorskip("distributed", reason="needs the cluster extra")
    root, _ = graded_class
    if not outcomes(root):
        assert llmf(root, "grade", *FAST) == 1
    copy = tmp_path / "dask"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("autograded"))
    assert llmf(copy, "grade", *FAST, "--scheduler", "local:2") == 1  # eve again
    pool, dask = outcomes(root), outcomes(copy)
    assert {s: o[:2] for s, o in dask.items()} == {s: o[:2] for s, o in pool.items()}
    assert {s: o[2] for s, o in dask.items()} == {s: o[2] for s, o in pool.items()}


def test_the_docstring_examples():
    import doctest

    import autograder.variants

    result = doctest.testmod(autograder.variants)
    assert result.failed == 0 and result.attempted > 0
