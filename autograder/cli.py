"""`llmf-grade`: the course's command line (release, collect, grade, export, similarity, feedback,
check, pythons).

    llmf-grade release                          # student versions -> release/ and notebooks/
    llmf-grade collect ch1_base_models ~/Downloads/ch1_submissions
    llmf-grade grade                            # every submission of every assignment
    llmf-grade export grades.csv
    llmf-grade export grades.csv --lms canvas   # or moodle, blackboard, gradescope
    llmf-grade similarity ch1_base_models       # similarity/ch1_base_models.html and .csv
    llmf-grade feedback
    llmf-grade check work/ch3_pretraining_objective.ipynb   # a self-paced learner's copy
    llmf-grade pythons --add python3.13         # grade on more Pythons than the grader's own

Every command takes --course DIR, before or after the command's name (default: $LLMF_COURSE,
else the repository's course/ folder in a checkout, else the current folder). grade, export and
feedback work on the assignments that were released and collected (or the ones named); every
refusal is one line on stderr, saying what to do next, with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from autograder.course_folder import (
    COURSE_ENV,
    Course,
    default_course_root,
    folder_name_problem,
    repository_course,
    unseen_problem,
)
from autograder.files import printable

GRADER_FAILED = 2  # exit status when the grader failed on some notebooks (the batch went on)
# the packages of the `instructor` extra, which a learner's install (`make course`) leaves out
INSTRUCTOR_PACKAGES = ("nbgrader",)


def _course(args) -> Course:
    return Course(args.course)


def _assignments(course: Course, args) -> list[str]:
    """The assignments named on the command line (default: all of the course's)."""
    known = course.assignments()
    chosen = args.assignment or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown assignment(s) {', '.join(unknown)}; the course at "
                         f"{course.root} has {', '.join(known)}")
    return chosen


def _handed_in(course: Course, args) -> list[str]:
    """Of the assignments named (default: all), the ones with collected submissions (the
    assignments similarity compares when none is named); ValueError if there is none."""
    chosen = _assignments(course, args)
    submitted = course.root / "submitted"
    found = {folder.name for folder in submitted.glob("*/*") if folder.is_dir()}
    collected = [assignment for assignment in chosen if assignment in found]
    if not collected:
        which = f"for {', '.join(args.assignment)} " if args.assignment else ""
        raise ValueError(f"nothing collected {which}in {submitted}: run `llmf-grade collect "
                         "<assignment> <folder of submissions>` first")
    return collected


def _collected(course: Course, args) -> list[str]:
    """The assignments grade, export and feedback work on: of those named (default: all), the
    ones with collected submissions, each of which must have been released."""
    collected = _handed_in(course, args)
    unreleased = [a for a in collected if not (course.root / "release" / a).is_dir()]
    if unreleased:
        raise ValueError(f"{', '.join(unreleased)} collected but never released: run "
                         f"`llmf-grade release {' '.join(unreleased)}` first (it enters the "
                         "assignment in the gradebook)")
    return collected


def _say_refused(course: Course, command: str) -> None:
    """One line naming the gradebook's student ids that cannot name a folder, one naming the
    ids that hold what shows nothing, and one naming the ids spelled two ways (each told apart
    by its escapes): all left out."""
    refused = course.refused_students()
    paths = [student for student in refused if folder_name_problem(student)]
    if paths:
        named = ", ".join(repr(printable(student)) for student in paths[:5])
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        print(f"llmf-grade {command}: warning: left out the gradebook's student id(s) {named}"
              f"{more}: each would make a path (empty, '.', '..', or with '/', a backslash or "
              "NUL); `nbgrader db student remove <id>` removes one", file=sys.stderr)
    unseen = [student for student in refused if student not in paths]
    if unseen:
        named = "; ".join(f"{ascii(student)} ({unseen_problem(student)})"
                          for student in unseen[:5])
        more = f"; and {len(unseen) - 5} more" if len(unseen) > 5 else ""
        print(f"llmf-grade {command}: warning: left out the student id(s) {named}{more}: no "
              "reader, LMS or terminal can tell such an id from the one without what shows "
              "nothing: none is graded, exported or given feedback until it is renamed (move "
              "its files into a folder of submitted/ named as the student's id, `nbgrader db "
              "student remove` the other id)", file=sys.stderr)
    lookalikes = course.lookalike_students()
    if lookalikes:
        named = "; ".join(" and ".join(map(ascii, group)) for group in lookalikes[:5])
        more = f"; and {len(lookalikes) - 5} more" if len(lookalikes) > 5 else ""
        print(f"llmf-grade {command}: warning: left out the student ids {named}{more}: each "
              f"group is one id spelled two ways (capitals, or Unicode's forms of an accent), "
              "which an LMS, a reader and a disk that ignores case take for one student: none is "
              "graded, exported or given feedback until one spelling is left (move the files "
              "into one folder of submitted/, `nbgrader db student remove` the other id)",
              file=sys.stderr)


def _say_forgotten(forgotten: list, command: str) -> None:
    """One line per notebook whose submission changed since it was graded (nbgrader's own
    collect, a file copied in by hand), whose grades `forget_changed` cleared."""
    for (student, assignment, notebook), by_hand in forgotten:
        cleared = (f"; the scores and comments given by hand ({', '.join(by_hand)}) are cleared "
                   "with it: grade them again" if by_hand else "")
        print(f"llmf-grade {command}: {printable(student)}/{assignment}/{notebook} changed since "
              f"it was graded: its grade is cleared until `llmf-grade grade`{cleared}",
              file=sys.stderr)


def _chosen_students(course: Course, args) -> list[str] | None:
    """The students named by --student (None: every one); ValueError for an id that holds
    what shows nothing (`course_folder.unseen_problem`), is spelled two ways in the course
    (`Course.lookalike_students`) or is none of its students (`Course.students`: `Bob` for
    `bob` would get a folder of its own, which is bob's on a disk that ignores case). (An id
    that cannot name a folder is refused by the course's paths.)"""
    spelled = {student: group for group in course.lookalike_students() for student in group}
    students = set(course.students())
    for student in args.student or []:
        if unseen_problem(student):
            raise ValueError(f"student id {ascii(student)} {unseen_problem(student)}: rename "
                             "it, then name it")
        if student in spelled:
            raise ValueError(f"student id {ascii(student)} is spelled two ways in the course "
                             f"({' and '.join(map(ascii, spelled[student]))}): leave one "
                             "spelling, then name it")
        if student not in students and not folder_name_problem(student):
            raise ValueError(f"student id {ascii(student)} is not a student of the course (no "
                             "folder of submitted/, no gradebook entry, not on the roster): name "
                             "one it holds, spelled as it is (a disk that ignores case takes "
                             "'Bob' for 'bob')")
    return args.student or None


def cmd_release(args) -> None:
    from autograder.release import release_assignment

    course = _course(args)
    repository = repository_course()
    in_repository = repository is not None and course.root.resolve() == repository.resolve()
    notebooks_dir = args.notebooks or (repository.parent / "notebooks" if in_repository else None)
    if (args.course_key or args.roster) and not args.per_student:
        raise ValueError("--roster and --course-key go with --per-student (the students' "
                         "variants)")
    students = _roster(course, args) if args.per_student else []
    assignments = _assignments(course, args)
    written = []
    for assignment in tqdm(assignments, desc="release", unit="assignment"):
        written += release_assignment(course, assignment, notebooks_dir)
    print(f"released {len(written)} notebook(s):")
    for path in written:
        print(f"  {path}")
    if students:
        from autograder.class_variants import PER_STUDENT, release_per_student

        made = release_per_student(course, assignments, students, args.course_key)
        keyed = " (drawn with the course key variant_key)" if args.course_key else ""
        print(f"released {len(made)} per-student notebook(s), a variant for each of "
              f"{len(students)} student(s){keyed}: {course.root / PER_STUDENT}/<assignment>/"
              "<student>/")


def _roster(course: Course, args) -> list[str]:
    """The students of `release --per-student`: the roster file's, else the collected ones."""
    from autograder.class_variants import read_roster

    if args.roster:
        return read_roster(args.roster)
    students = course.students()
    if not students:
        raise ValueError("release --per-student needs the students: give --roster FILE (a CSV "
                         "of student ids), or collect submissions first")
    return students


def cmd_collect(args) -> None:
    from autograder.class_variants import read_roster
    from autograder.collect import NOT_COLLECTED, OLDER, collect

    roster = read_roster(args.roster) if args.roster else None
    report = collect(_course(args), args.assignment_name, args.folder, args.id_pattern, args.lms,
                     roster=roster, replace_newer=args.replace_newer)
    if report.naming:
        print(report.naming)
    for entry in report.entries:
        print(entry.line())
    changed = sum(item.changed for item in report.taken)
    students = len({item.student for item in report.taken})
    left = sum(entry.outcome == NOT_COLLECTED for entry in report.entries)
    older = sum(entry.outcome == OLDER for entry in report.entries)
    print(f"collected {len(report.taken)} notebook(s) from {students} student(s); "
          f"{changed} new or changed, {len(report.taken) - changed} unchanged; "
          f"{older} older attempt(s) not taken; "
          f"{left} entr{'y' if left == 1 else 'ies'} not collected (each says why above)")


def cmd_grade(args) -> int:
    from autograder.grade_class import GradingInterrupted, forget_changed, grade_course
    from autograder.grader.sandbox import Limits

    course = _course(args)
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    scheduler = args.scheduler or _grading_setting(course, "scheduler", None)
    allow_unsandboxed = args.allow_unsandboxed or _grading_setting(course, "allow_unsandboxed",
                                                                   False)
    assignments = _collected(course, args)
    _say_refused(course, "grade")
    _say_forgotten(forget_changed(course), "grade")
    try:
        statuses = grade_course(course, assignments, _chosen_students(course, args),
                                limits=limits, workers=args.jobs, force=args.force,
                                scheduler=scheduler, allow_unsandboxed=allow_unsandboxed)
    except GradingInterrupted as interrupt:
        _summary(f"{', '.join(assignments)} (interrupted)", interrupt.statuses)
        print("llmf-grade grade: interrupted; every grade recorded so far is kept; run "
              "`llmf-grade grade` again to grade the rest", file=sys.stderr)
        return 130
    _summary(", ".join(assignments), statuses)
    for student in statuses.without_variant:
        print(f"llmf-grade grade: error: student {student!r} has no variant (not on the roster "
              "of `llmf-grade release --per-student`): not graded; add them to the roster and "
              "release again, then grade", file=sys.stderr)
    if statuses.without_variant:
        return 1
    if statuses.grader_failures:
        print(f"warning: the grader failed on {statuses.grader_failures} notebook(s); each is "
              "recorded 'crashed' with the grader error as its reason (see `llmf-grade export`); "
              "the next `llmf-grade grade` grades them again",
              file=sys.stderr)
        return GRADER_FAILED
    return 0


def _grading_setting(course: Course, name: str, default):
    """`c.LlmfGrade.<name>` of the course's nbgrader_config.py, else `default`."""
    section = course.nbgrader_config.get("LlmfGrade")
    return section.get(name, default) if section else default


def cmd_export(args) -> None:
    from autograder.grade_class import sync_gradebook
    from autograder.reports.export import export_rows, write_csv

    course = _course(args)
    assignments = _collected(course, args)
    _say_forgotten(sync_gradebook(course), "export")
    _say_refused(course, "export")
    if args.lms:
        from autograder.reports.lms import write_lms_files

        written = write_lms_files(course, args.lms, args.output, assignments)
        print(f"wrote {len(written)} {args.lms} file(s): {', '.join(map(str, written[:4]))}"
              f"{' ...' if len(written) > 4 else ''}")
        _say_not_final(export_rows(course, assignments))
        return
    rows = export_rows(course, assignments)
    path = write_csv(list(tqdm(rows, desc="export", unit="row")), args.output)
    print(f"wrote {len(rows)} row(s) to {path}")
    _summary(", ".join(assignments), Counter(row["status"] for row in rows))


def _say_not_final(rows: list[dict]) -> None:
    """One line per kind of grade an LMS file leaves empty (`reports.lms`: not final), naming
    the students: the LMS keeps the grade it had for each, an earlier submission's if one was
    imported, so an empty cell is never taken for a grade given."""
    from autograder.records import Status

    for status, what in ((Status.UNGRADED, "run `llmf-grade grade`"),
                         (Status.NEEDS_MANUAL_GRADING, "grade the written answers in Formgrader")):
        waiting = [f"{printable(row['student'])}/{row['assignment']}" for row in rows
                   if row["status"] == status]
        if waiting:
            named = ", ".join(waiting[:10]) + (f" and {len(waiting) - 10} more"
                                               if len(waiting) > 10 else "")
            print(f"llmf-grade export: warning: {len(waiting)} grade(s) {status} left empty in "
                  f"the LMS file(s), where the LMS keeps the grade it had (an earlier "
                  f"submission's, if one was imported): {named}; {what}, then export again",
                  file=sys.stderr)


def cmd_similarity(args) -> None:
    from autograder.reports.similarity import similarity_report, write_report

    course = _course(args)
    _say_refused(course, "similarity")
    chosen = _assignments(course, args) if args.assignment else _handed_in(course, args)
    for assignment in tqdm(chosen, desc="similarity", unit="assignment"):
        report = similarity_report(course, assignment, args.threshold)
        page, table = write_report(course, report)
        print(f"{assignment}: {len(report.pairs)} pair(s) at or above {report.threshold:.2f} "
              f"and {len(report.groups)} group(s): {page}, {table}")


def cmd_feedback(args) -> None:
    from autograder.grade_class import forget_changed
    from autograder.reports.feedback import FeedbackPages

    course = _course(args)
    _say_forgotten(forget_changed(course), "feedback")
    pages = FeedbackPages(course)
    _say_refused(course, "feedback")
    keys = [(s, a, n) for a in _collected(course, args) for n in course.notebooks(a)
            for s in (_chosen_students(course, args) or course.students())]
    written = [pages.write(*key) for key in tqdm(keys, desc="feedback", unit="nb")]
    print(f"wrote {len(written)} feedback page(s) under {course.root / 'feedback'}")


def cmd_check(args) -> None:
    from autograder.grader.sandbox import Limits
    from autograder.selfcheck import check_notebook

    course = _course(args)
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout)
    result, page, report = check_notebook(args.notebook, course, limits)
    print(report)
    if any(score is None for score, _ in result.scores.values()):
        print("written answers are graded by hand: compare yours with the model answer and "
              "rubric on the feedback page")
    print(f"feedback: {page}")


def cmd_pythons(args) -> int:
    import subprocess

    from autograder.grader import pythons

    wanted = [*args.add, *(pythons.found_on_path() if args.add_found else [])]
    for interpreter in wanted:
        try:
            pythons.prepare(interpreter)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"preparing {interpreter} failed ({error}); nothing of it is "
                               "used until it is prepared again") from None
    ready = pythons.available()
    print(f"grading runs a notebook on the Python it was saved with, else the nearest; "
          f"kernel environments in {pythons.folder()}")
    for python in reversed(ready):
        own = " (the grader's own)" if python == pythons.own_python() else ""
        print(f"  Python {python.name}{own}: {python.executable}")
    missing = [name for name in pythons.found_on_path()
               if tuple(map(int, name[len("python"):].split("."))) not in
               {python.minor for python in ready}]
    if missing:
        print(f"found on PATH, not prepared (or prepared for an earlier course_lib): "
              f"{', '.join(missing)} (llmf-grade pythons --add-found)")
    return 0


def _summary(title: str, counts: Counter) -> None:
    """One line: the title, then how many of each status ("ch1: 3 graded, 1 missing")."""
    parts = ", ".join(f"{count} {str(status).replace('_', ' ')}"
                      for status, count in sorted(counts.items()))
    print(f"{title}: {parts or 'nothing to grade'}")


def build_parser() -> argparse.ArgumentParser:
    course_help = (f"the nbgrader course folder (default: ${COURSE_ENV} if set, else the "
                   f"repository's course/ in a checkout, else the current folder; here: "
                   f"{default_course_root()})")
    parser = argparse.ArgumentParser(prog="llmf-grade",  # the docstring's first sentence
                                     description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--course", default=str(default_course_root()), help=course_help)
    # --course after the command's name too (`llmf-grade grade --course DIR`), in its --help
    with_course = argparse.ArgumentParser(add_help=False)
    with_course.add_argument("--course", default=argparse.SUPPRESS, help=course_help)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", parents=[with_course],
                                  help="generate student versions (nbgrader)")
    release.add_argument("assignment", nargs="*", help="assignments (default: all)")
    release.add_argument("--per-student", action="store_true",
                         help="also give every student a variant of each assignment (own quiz "
                              "order, numbers and hidden inputs): release-per-student/"
                              "<assignment>/<student>/<notebook>.ipynb")
    release.add_argument("--roster", type=Path,
                         help="with --per-student: a CSV of student ids (a column named "
                              "student, or the first column; default: the collected students)")
    release.add_argument("--course-key", action="store_true",
                         help="with --per-student: draw the variants with a private key kept "
                              "in the course folder (variant_key), so the ids alone do not "
                              "give them")
    release.add_argument("--notebooks", type=Path,
                         help="also copy student notebooks here, flat (default for the "
                              "repository's course: notebooks/)")
    release.set_defaults(run=cmd_release)

    collect = commands.add_parser("collect", parents=[with_course],
                                  help="take in submissions from a folder, reporting every entry")
    collect.add_argument("assignment_name", help="assignment the submissions belong to")
    collect.add_argument("folder", type=Path,
                         help="one folder per student, a flat folder of <student>_<nb>.ipynb "
                              "(or zips), or an LMS's unzipped download")
    collect.add_argument("--id-pattern",
                         help="regex with a (?P<student>...) group (and optionally (?P<file>...)) "
                              "for folder and file names")
    collect.add_argument("--lms", choices=("canvas", "moodle", "blackboard", "none"),
                         help="read this learning-management system's download naming, or "
                              "'none' to take names as they are (default: detected from the "
                              "names, and said)")
    collect.add_argument("--roster", type=Path,
                         help="a CSV of the class's student ids (a column named student, or the "
                              "first column): tells whose a name that reads two ways is "
                              "(x-1.ipynb: student x-1, or x's attempt 1); a name that is one "
                              "of its ids in other capitals or Unicode form (bob.ipynb for Bob) "
                              "is collected under the roster's spelling")
    collect.add_argument("--replace-newer", action="store_true",
                         help="take each student's latest attempt in the folder even where the "
                              "submission collected before is later (a correction; without it "
                              "the later one is kept and the older reported)")
    collect.set_defaults(run=cmd_collect)

    grade = commands.add_parser("grade", parents=[with_course],
                                help="grade submissions in the sandbox, in parallel")
    grade.add_argument("assignment", nargs="*",
                       help="assignments (default: every one released and collected)")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--jobs", "-j", type=int, help="parallel graders (default: cores)")
    grade.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    grade.add_argument("--cell-timeout", type=float, default=20.0, help="seconds per cell")
    grade.add_argument("--notebook-timeout", type=float, default=180.0,
                       help="seconds per notebook")
    grade.add_argument("--memory-mb", type=int, default=1536, help="memory limit per kernel")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on a Dask cluster: its scheduler's address (tcp://host:8786) "
                            "or local:N for N worker processes on this machine (needs the "
                            "cluster extra; default: c.LlmfGrade.scheduler of the course's "
                            "nbgrader_config.py, else this machine's process pool)")
    grade.add_argument("--allow-unsandboxed", action="store_true",
                       help="let Dask workers without bubblewrap grade (students' code then "
                            "runs unsandboxed: only for disposable machines of your own)")
    grade.set_defaults(run=cmd_grade)

    export = commands.add_parser("export", parents=[with_course],
                                 help="write grades.csv (one row per student/assignment)")
    export.add_argument("output", nargs="?", default="grades.csv", type=Path)
    export.add_argument("--assignment", action="append",
                        help="only this assignment (repeatable; default: every one released and "
                             "collected)")
    export.add_argument("--lms", choices=("canvas", "moodle", "blackboard", "gradescope"),
                        help="write this LMS's grade import file per assignment "
                             "(<output stem>-<assignment>.csv), or for gradescope a "
                             "results.json per submission under the folder OUTPUT")
    export.set_defaults(run=cmd_export)

    similarity = commands.add_parser("similarity", parents=[with_course],
                                     help="report students whose answers are unusually alike "
                                          "(HTML and CSV in similarity/)")
    similarity.add_argument("assignment", nargs="*",
                            help="assignments (default: every one collected)")
    similarity.add_argument("--threshold", type=float,
                            help="report pairs scoring at least this (0-1; default 0.85)")
    similarity.set_defaults(run=cmd_similarity)

    feedback = commands.add_parser("feedback", parents=[with_course],
                                   help="write per-student HTML feedback")
    feedback.add_argument("assignment", nargs="*",
                          help="assignments (default: every one released and collected)")
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.set_defaults(run=cmd_feedback)

    check = commands.add_parser("check", parents=[with_course],
                                help="grade your own notebook (self-paced learners)")
    check.add_argument("notebook", type=Path,
                       help="your chapter notebook, e.g. work/ch1_base_models.ipynb")
    check.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell")
    check.add_argument("--notebook-timeout", type=float, default=600.0,
                       help="seconds per notebook")
    check.set_defaults(run=cmd_check)

    kernels = commands.add_parser(
        "pythons", parents=[with_course],
        help="list the Pythons grading can run students' code on; prepare more")
    kernels.add_argument("--add", action="append", default=[], metavar="PYTHON",
                         help="prepare a kernel environment for this interpreter (python3.13, "
                              "or a path; installs its packages with pip, once)")
    kernels.add_argument("--add-found", action="store_true",
                         help="prepare one for every python3.10 ... python3.13 on PATH")
    kernels.set_defaults(run=cmd_pythons)
    return parser


def _in_words(error: BaseException) -> str:
    """An error as the one line a refusal prints: the system's own (a file that cannot be read
    or written: a folder, no such folder, no permission) as the path and what is wrong with it,
    without Python's "[Errno 21]"; any other as its message."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        what = error.strerror[:1].lower() + error.strerror[1:]
        return f"{printable(str(error.filename))}: {what}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `llmf-grade`."""
    args = build_parser().parse_args(argv)
    if not hasattr(args, "assignment"):
        args.assignment = None
    if not hasattr(args, "student"):
        args.student = None
    try:
        return args.run(args) or 0
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in INSTRUCTOR_PACKAGES:
            raise
        print(f"llmf-grade {args.command}: error: this command needs the instructor's tools "
              f"({error.name} is not installed): run `make instructor` once, or "
              "pip install -e '.[instructor]'", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as error:
        print(f"llmf-grade {args.command}: error: {_in_words(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"llmf-grade {args.command}: interrupted; everything recorded so far is kept "
              "(run it again to do the rest)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
