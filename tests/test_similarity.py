"""The similarity report (autograder/reports/similarity.py), and a source notebook earning 0.

The fingerprints are checked as properties (renaming, reordering and re-commenting never lower
a copied pair below the threshold; different exercises stay low), then the report is run on a
small synthetic class of one chapter (tests/synthetic_class.py) with planted copies, through
the command line, the page's escaping and bounds, and the export's column. The synthetic class's
honest solutions are themselves checked: every exercise has a writer, and what they write passes
every check and hidden case.
"""

import functools
import random
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import chapter_harness as harness  # noqa: E402
import synthetic  # noqa: E402
import synthetic_class  # noqa: E402
from wrong_messages import ChapterRun, hidden_verdict  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.course_folder import Course, id_problem  # noqa: E402
from autograder.grader.pipeline import References, Task, grade  # noqa: E402
from autograder.grader.plan import read_plan  # noqa: E402
from autograder.grader.sandbox import Limits  # noqa: E402
from autograder.grader.submission import read_submission  # noqa: E402
from autograder.records import save_result  # noqa: E402
from autograder.reports import similarity  # noqa: E402
from autograder.reports.export import export_rows  # noqa: E402
from autograder.reports.feedback import FeedbackPages  # noqa: E402

ROOT = Path(__file__).parents[1]
CHAPTER = "ch3_pretraining_objective"
SOURCE = ROOT / "course" / "source" / CHAPTER / f"{CHAPTER}.ipynb"
FIXTURE = ROOT / "tests" / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
EXERCISES = sorted(synthetic_class.HONEST)
SOURCES = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))
DRAWN = 400  # honest students drawn per chapter, from whose solutions the graded few are chosen


def exercises_of(source: Path) -> list[str]:
    """The code exercises of a chapter (grade_ids ex...), in notebook order."""
    return [g for g in synthetic.answer_ids(source) if g.startswith("ex")]


def covering_students(source: Path, every_habit: bool) -> dict[int, dict[str, str]]:
    """A few honest students of the chapter whose solutions hold between them every line that
    any of DRAWN students' solutions holds (every way of every writer, every option of each
    choice), chosen greedily: {seed: their answers as handed in, with every habit of
    synthetic_class.personal_style or none}."""
    lines, handed_in = {}, {}
    for seed in range(DRAWN):
        rng = random.Random(seed)
        drawn = {g: synthetic_class.own_solution(g, rng, every_habit)
                 for g in exercises_of(source)}
        lines[seed] = {(g, line) for g, (solution, _) in drawn.items()
                       for line in solution.splitlines()}
        handed_in[seed] = {g: answer for g, (_, answer) in drawn.items()}
    every, chosen = set().union(*lines.values()), []
    while (missing := every.difference(*(lines[seed] for seed in chosen))):
        chosen.append(max(lines, key=lambda seed: len(lines[seed] & missing)))
    return {seed: handed_in[seed] for seed in chosen}


def dice(first: str, second: str) -> float:
    a = set(similarity.document([first], "code").fingerprints)
    b = set(similarity.document([second], "code").fingerprints)
    return 2 * len(a & b) / (len(a) + len(b))


def test_tokens_ignore_names_comments_and_layout():
    one = "def f(a, b):\n    # add them\n    total = a + b  # sum\n    return total * 2\n"
    two = "def f(x,y):\n\n    s=x+y\n    return s*7\n"
    assert [t for t, _ in similarity.code_tokens(one)] == [t for t, _ in
                                                           similarity.code_tokens(two)]
    assert "cumsum" in [t for t, _ in similarity.code_tokens("y = np.cumsum(x)")]
    assert similarity.code_tokens("def broken(:\n  x = 1")  # read word by word, not dropped


@settings(max_examples=40, deadline=None)
@given(exercise=st.sampled_from(EXERCISES), seed=st.integers(0, 10**6))
def test_a_disguised_copy_stays_above_the_threshold(exercise, seed):
    rng = random.Random(seed)
    original = synthetic_class.HONEST[exercise](rng)
    assert dice(original, synthetic_class.disguise(original, rng)) >= similarity.THRESHOLD


@settings(max_examples=40, deadline=None)
@given(pair=st.lists(st.sampled_from(EXERCISES), min_size=2, max_size=2, unique=True),
       seed=st.integers(0, 10**6))
def test_solutions_of_different_exercises_stay_low(pair, seed):
    rng = random.Random(seed)
    first, second = (synthetic_class.HONEST[name](rng) for name in pair)
    assert dice(first, second) < similarity.THRESHOLD


def test_every_exercise_of_every_chapter_has_an_honest_writer():
    """Without one, every student of the synthetic class hands in the published solution of
    that exercise, and the report finds no copy in its chapter (Chapter 5, before it had
    writers: recall 0 of 15)."""
    assert sorted(g for source in SOURCES for g in exercises_of(source)) == EXERCISES


@functools.cache
def chapter_run(source: Path) -> tuple[ChapterRun, dict[str, list]]:
    """(the chapter's ChapterRun, {exercise: the hidden values of the instructor's solution})."""
    notebook = nbformat.read(source, as_version=4)
    run, keys = ChapterRun(notebook), harness.answer_keys(notebook)
    return run, {g: run.run(g, keys[g]).hidden for g in exercises_of(source)}


@pytest.mark.parametrize("every_habit", [False, True], ids=["no habit", "every habit"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.parent.name)
def test_honest_students_solutions_earn_every_point(source, every_habit):
    """The synthetic class's honest solutions are right: the few students whose solutions cover
    every line the writers draw, handed in with their own names and with none or all of the
    habits a student may have, pass every visible check and every hidden case of every
    exercise, run as the grader's kernel runs them (ChapterRun, in this process)."""
    run, references = chapter_run(source)
    for seed, answers in covering_students(source, every_habit).items():
        for grade_id, answer in answers.items():
            verdicts = run.run(grade_id, answer)
            assert verdicts.visible is None and hidden_verdict(references[grade_id],
                                                                verdicts.hidden), (
                seed, grade_id, repr(verdicts.visible), answer)


def test_winnowing_keeps_a_fingerprint_in_every_window():
    tokens = [(str(i), i) for i in range(40)]
    hashes = similarity.fingerprints(tokens, 3, 4)
    covered = sorted(first for spans in hashes.values() for first, _ in spans)
    assert covered and all(b - a <= 4 for a, b in zip(covered, covered[1:], strict=False))
    assert similarity.fingerprints(tokens[:2], 3, 4) == {}


def _course_with(tmp_path, answers, written, sources=(SOURCE,)) -> Course:
    root = tmp_path / "course"
    for source in sources:
        shutil.copytree(source.parent, root / "source" / source.parent.name)
    for student in answers:
        for source in sources:
            assignment = source.parent.name
            notebook = synthetic.student_notebook(source, answers[student][assignment],
                                                  written=written[student][assignment])
            path = root / "submitted" / student / assignment / source.name
            path.parent.mkdir(parents=True)
            nbformat.write(notebook, str(path))
    return Course(root)


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    made = synthetic_class.synthetic_class({CHAPTER: SOURCE}, honest=12, copied_pairs=3,
                                           published_copies=2, seed=3)
    return made, _course_with(tmp_path_factory.mktemp("sim"), made.answers, made.written)


def test_the_report_finds_the_planted_pairs_and_no_honest_one(small_class):
    made, course = small_class
    report = similarity.similarity_report(course, CHAPTER)
    found = {frozenset(pair.students) for pair in report.pairs}
    for copier, original in made.planted:
        assert frozenset((copier, original or similarity.PUBLISHED)) in found
    honest = set(made.honest)
    assert not [pair for pair in report.pairs if set(pair.students) <= honest]
    assert report.pairs == sorted(report.pairs, key=lambda pair: -pair.score)
    assert report.highest["c00"][1] == "h00"


def test_command_line_writes_page_csv_and_the_export_column(small_class):
    made, course = small_class
    assert main(["--course", str(course.root), "similarity", CHAPTER]) == 0
    folder = course.root / "similarity"
    page = (folder / f"{CHAPTER}.html").read_text()
    assert "c00" in page and "<mark>" in page
    assert (folder / f"{CHAPTER}.csv").read_text().startswith("rank,student_a,student_b")
    rows = {row["student"]: row for row in export_rows(course, [CHAPTER])}
    assert rows["c00"]["highest_similarity"] >= similarity.THRESHOLD
    assert rows["h11"]["highest_similarity"] < similarity.THRESHOLD


def test_the_page_escapes_student_text_and_bounds_it(tmp_path):
    correct = synthetic.correct_answers(SOURCE)
    hostile = "</pre><script>alert(1)</script>"
    answer = correct["ex3_1_losses"] + f"\n\nNOTE = '{hostile}'\n" + "x = 1\n" * 100_000
    answers = {s: {CHAPTER: dict(correct, ex3_1_losses=answer)} for s in ("ann", "bea")}
    written = {s: {CHAPTER: hostile + " my own words about the model"} for s in answers}
    course = _course_with(tmp_path, answers, written)
    started = time.perf_counter()
    report = similarity.similarity_report(course, CHAPTER)
    assert time.perf_counter() - started < 20
    page = similarity.html_page(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert max(len(doc.lines) for doc in report.documents["code"].values()) < 11_000


def test_the_source_notebook_earns_zero_with_its_reason_in_export_and_feedback(tmp_path):
    plan = read_plan(FIXTURE)
    graded = grade(Task(plan, FIXTURE.read_bytes(), References({}), Limits()))
    assert graded.result.status == "tampered" and graded.result.score == 0
    assert "instructor's hidden tests" in graded.result.reason
    root = tmp_path / "course"
    shutil.copytree(FIXTURE.parent, root / "source" / "fx_basics")
    course = Course(root)
    submitted = course.submission("eve", "fx_basics", "fx_basics")
    submitted.parent.mkdir(parents=True)
    shutil.copy(FIXTURE, submitted)
    save_result(graded.result, course.result("eve", "fx_basics", "fx_basics"))
    [row] = export_rows(course, ["fx_basics"])
    assert (row["status"], row["score"]) == ("tampered", 0) and "earns 0" in row["reason"]
    page = FeedbackPages(course).write("eve", "fx_basics", "fx_basics").read_text()
    assert "earns 0" in page and "hidden_cases" not in page


def test_solution_or_hidden_cells_pasted_in_are_caught_but_a_lookalike_is_not():
    plan = read_plan(FIXTURE)
    correct = synthetic.correct_answers(FIXTURE)
    source = nbformat.read(str(FIXTURE), as_version=4)
    test_cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "linear_test")
    hidden_pasted = synthetic.with_added_cell(synthetic.student_notebook(FIXTURE, correct),
                                              "demo", test_cell.source.split("\n", 1)[1])
    marked = synthetic.student_notebook(FIXTURE, dict(
        correct, linear_answer="### BEGIN SOLUTION\n" + correct["linear_answer"]))
    for notebook, carried in ((hidden_pasted, "hidden tests"), (marked, "solution cells")):
        submission = read_submission(nbformat.writes(notebook).encode(), plan)
        assert submission.problem and carried in submission.problem[1]
    lookalike = synthetic.student_notebook(FIXTURE, correct)
    assert read_submission(nbformat.writes(lookalike).encode(), plan).problem is None


# what str.splitlines ends a line at and Python's parser does not (a form feed, NEL, U+2028, ...)
NOT_LINE_ENDS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
junk = st.text(st.sampled_from([*NOT_LINE_ENDS, "a", " ", "é"]), max_size=6)
COPIED = {
    "code": ("def f(values):\n    total = 0\n    for i in range(len(values)):\n"
             "        total += values[i] * values[i] - 3\n    return total ** 0.5 + 17\n"),
    "text": ("Softmax does not change when every logit moves by the same amount,\nso "
             "subtracting the largest one keeps the exponent at most zero\nand nothing "
             "overflows however large the logits are.\n"),
}


def marked_lines(prefix: str, kind: str) -> list[str]:
    """The lines the similarity page marks in a document of `prefix` then a copied passage,
    when compared with the passage alone."""
    original = similarity.document([COPIED[kind]], kind)
    copy = similarity.document([prefix + COPIED[kind] + "\nhonest = 1\nhonest = 2\n"], kind)
    shared = set(original.fingerprints) & set(copy.fingerprints)
    _, lines = similarity._matched_lines(original, copy, shared)
    assert lines and max(lines) < len(copy.lines)
    return [copy.lines[number] for number in sorted(lines)]


def test_the_similarity_page_marks_the_copied_lines_whatever_comes_before_them():
    prefix = "# notes\x0c\x0c\x0c\u2028\u2028\x85\n"
    assert marked_lines(prefix, "code") == COPIED["code"].split("\n")[:-1]  # were blank


@settings(max_examples=200, deadline=None)
@given(prefix=st.lists(junk, max_size=4), end=st.sampled_from(["\n", "\r\n", "\r"]),
       kind=st.sampled_from(["code", "text"]))
def test_the_lines_marked_are_the_lines_copied_whatever_comes_before_them(prefix, end, kind):
    """Property: a document's lines are the lines its fingerprints name, whatever the lines
    before a copied passage hold and however they end."""
    prefix = "".join(f"# {part}{end}" for part in prefix)
    assert marked_lines(prefix, kind) == COPIED[kind].split("\n")[:-1]


def test_a_student_whose_id_is_the_published_solutions_name_is_compared_like_any(tmp_path):
    """An id is a folder's name, and "(published solutions)", the name the report gave the
    instructor's solutions, was one a folder may have: a copier under that id had their answers
    replaced by the published ones and was compared with nobody. The published solutions' name
    now holds a "/", which no folder's name can."""
    made = synthetic_class.synthetic_class({CHAPTER: SOURCE}, honest=4, copied_pairs=1,
                                           published_copies=0, seed=3)
    [(copier, original)] = made.planted
    named = "(published solutions)"
    made.answers[named], made.written[named] = made.answers.pop(copier), made.written.pop(copier)
    report = similarity.similarity_report(_course_with(tmp_path, made.answers, made.written),
                                          CHAPTER)
    assert frozenset((named, original)) in {frozenset(pair.students) for pair in report.pairs}
    assert report.highest[named] == (report.highest[original][0], original)
    assert id_problem(similarity.PUBLISHED)  # the name no course may hold as a student's
