"""`llmf-grade collect` as a careful instructor would: each entry on its own and reported, the
latest attempt of each student, LMS namings given or detected, nothing followed, blocked on or
read unbounded.

The LMS fixtures (tests/fixtures/lms/) follow each system's documented download naming:
Canvas `<lastfirst>[_late]_<user id>_<submission id>_<file>`, Moodle folders
`<Full Name>_<participant id>_assignsubmission_file_/`, Blackboard
`<assignment>_<username>_attempt_<date-time>_<file>`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import time
import unicodedata
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.collect import (
    COLLECTED,
    MAX_BYTES,
    NOT_COLLECTED,
    OLDER,
    collect,
)
from autograder.course_folder import Course, id_key, student_id_problem

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SOURCE = FIXTURES / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
DAY = 86_400


def new_course(root: Path) -> Course:
    shutil.copytree(FIXTURES / "course" / "source", root / "source")
    return Course(root)


@pytest.fixture
def course(tmp_path) -> Course:
    return new_course(tmp_path / "course")


def submitted(course: Course) -> dict[str, str]:
    """{student: the submitted notebook's text} for fx_basics."""
    return {path.parent.parent.name: path.read_text()
            for path in course.root.glob("submitted/*/fx_basics/fx_basics.ipynb")}


def outcomes(report) -> dict[str, tuple[str, str]]:
    """{entry as shown: (outcome, reason)}."""
    return {entry.shown: (entry.outcome, entry.reason) for entry in report.entries}


def write(path: Path, text: str, age_days: float = 0) -> Path:
    """Write `text` to `path`, modified `age_days` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = 1_700_000_000 - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


@contextmanager
def finishes_within(seconds: int):
    """Fail (rather than hang the suite) if the block takes longer than `seconds`."""
    def stop(*_):
        raise TimeoutError(f"took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("given_lms", [True, False])
@pytest.mark.parametrize("lms, expected", [
    ("canvas", {"12345": "canvas: Ada", "23456": "canvas: Grace, late"}),
    ("moodle", {"12345": "moodle: Ada", "23456": '"moodle: Grace"'}),
    ("blackboard", {"alovelace": "blackboard: Ada", "ghopper": "blackboard: Grace, renamed"}),
])
def test_each_lms_download_is_collected_by_name_given_or_detected(course, tmp_path, lms,
                                                                    expected, given_lms, capsys):
    download = tmp_path / lms
    shutil.copytree(FIXTURES / "lms" / lms, download)
    for draft in download.rglob("wip_*"):  # Moodle's draft is the older attempt
        os.utime(draft, (0, 0))
    option = ["--lms", lms] if given_lms else []
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download),
                 *option]) == 0
    found = submitted(course)
    assert set(found) == set(expected)
    for student, text in expected.items():
        assert text in found[student]
    printed = capsys.readouterr().out
    assert ("(detected; give --lms none" in printed) != given_lms
    assert "1 entry not collected" in printed  # the .txt / .html beside the notebooks


def test_the_latest_attempt_is_collected_and_the_report_says_so(course, tmp_path):
    download = tmp_path / "download"
    write(download / "ada" / "fx_basics.ipynb", "old", age_days=2)
    write(download / "ada" / "wip_fx_basics.ipynb", "new", age_days=1)
    write(download / "bob_fx_basics.ipynb", "first", age_days=1)
    write(download / "bob_FX_BASICS-2.IPYNB", "second", age_days=3)  # numbered: later
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": "new", "bob": "second"}
    seen = outcomes(report)
    assert seen["ada/wip_fx_basics.ipynb"] == (
        COLLECTED, "as ada/fx_basics, the latest of 2 attempts")
    assert seen["ada/fx_basics.ipynb"] == (
        OLDER, "at ada/fx_basics; ada/wip_fx_basics.ipynb is later")
    assert seen["bob_FX_BASICS-2.IPYNB"][0] == COLLECTED
    assert seen["bob_fx_basics.ipynb"][0] == OLDER


def test_the_samples_macosx_zip_upper_case_and_suffixes_are_all_collected(course, tmp_path,
                                                                          capsys):
    """A Moodle-style download with macOS metadata, a zip holding the notebook, an upper-case
    extension, LMS and JupyterLab suffixes: every student collected, every other entry said."""
    download = tmp_path / "download"
    write(download / "__MACOSX" / "ada" / "._fx_basics.ipynb", "resource fork")
    write(download / "ada" / "fx_basics.IPYNB", "ada")
    with zipfile.ZipFile(download / "bob.zip", "w") as archive:
        archive.writestr("work/fx_basics.ipynb", "bob")
        archive.writestr("__MACOSX/work/._fx_basics.ipynb", "fork")
    write(download / "cyd_fx_basics-Copy1.ipynb", "cyd")
    write(download / "dee" / "fx_basics (1).ipynb", "dee")
    write(download / ".DS_Store", "finder")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download)]) == 0
    assert submitted(course) == {"ada": "ada", "bob": "bob", "cyd": "cyd", "dee": "dee"}
    printed = capsys.readouterr().out
    assert "not collected  __MACOSX: macOS's archive metadata, not a submission" in printed
    assert "collected      bob.zip:work/fx_basics.ipynb: as bob/fx_basics" in printed
    assert "not collected  .DS_Store: a hidden file or folder" in printed
    assert "collected 4 notebook(s) from 4 student(s)" in printed


def test_a_fifo_named_like_a_notebook_is_reported_never_opened(course, tmp_path):
    download = tmp_path / "download"
    write(download / "ada_fx_basics.ipynb", "ada")
    os.mkfifo(download / "bob_fx_basics.ipynb")
    (download / "cyd").mkdir()
    os.mkfifo(download / "cyd" / "fx_basics.ipynb")
    with finishes_within(20):
        report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": "ada"}
    for shown in ("bob_fx_basics.ipynb", "cyd/fx_basics.ipynb"):
        assert outcomes(report)[shown] == (
            NOT_COLLECTED, "not a regular file (a FIFO, socket or device): never opened")


def test_a_zip_bomb_is_read_only_up_to_the_size_limit(course, tmp_path):
    """A member whose header claims 1 KB but unzips past MAX_BYTES, and one that says it is too
    big: neither is read further than the limit; the student's other attempt is collected."""
    download = tmp_path / "download"
    write(download / "ada" / "fx_basics.ipynb", "honest", age_days=5)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fx_basics.ipynb", b"0" * (MAX_BYTES + 2**20))
    raw = bytearray(bomb.getvalue())
    size_field = raw.index(b"fx_basics.ipynb") - 30 + 22  # the local header's uncompressed size
    raw[size_field:size_field + 4] = (1024).to_bytes(4, "little")
    central = raw.rindex(b"PK\x01\x02")  # and the central directory's
    raw[central + 24:central + 28] = (1024).to_bytes(4, "little")
    (download / "ada" / "late.zip").write_bytes(bytes(raw))
    with finishes_within(60):
        report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": "honest"}
    outcome, reason = outcomes(report)["ada/late.zip:fx_basics.ipynb"]
    assert outcome == NOT_COLLECTED and "could not be read" in reason


def test_canvas_names_without_lms_are_read_as_canvas_and_mixed_names_are_refused(course,
                                                                                tmp_path, capsys):
    download = tmp_path / "download"
    write(download / "doedave_12345_678901_fx_basics.ipynb", "dave")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download)]) == 0
    assert set(submitted(course)) == {"12345"}  # not a student called doedave_12345_678901
    assert "names read as Canvas's download naming (detected" in capsys.readouterr().out
    write(download / "ada_fx_basics.ipynb", "ada")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "1 of the 2 entries holding a notebook are named as Canvas" in err
    assert "give --lms canvas" in err and "--lms none" in err
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download),
                 "--lms", "none"]) == 0
    assert set(submitted(course)) == {"12345", "ada", "doedave_12345_678901"}


def test_an_entry_that_names_no_usable_student_is_reported_and_the_rest_collected(course,
                                                                                 tmp_path):
    download = tmp_path / "download"
    write(download / "Ada Lovelace" / "fx_basics.ipynb", "ada")
    write(download / "fx_basics.ipynb", "whose?")
    write(download / "bob" / "fx_basics.ipynb", "bob")
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {"bob": "bob"}
    seen = outcomes(report)
    assert "'Ada Lovelace' is not usable as a student id" in seen["Ada Lovelace/fx_basics.ipynb"][1]
    assert "with no student in its name" in seen["fx_basics.ipynb"][1]


def test_id_pattern_reads_folder_and_file_names_and_reports_what_does_not_match(course,
                                                                               tmp_path):
    download = tmp_path / "download"
    write(download / "Ada Lovelace_12345_assignsubmission_file_" / "mine.ipynb", "ada")
    write(download / "Smith, J_991_fx_basics.ipynb", "smith")
    write(download / "stray.ipynb", "stray")
    report = collect(course, "fx_basics", download, id_pattern=r"_(?P<student>\d+)_")
    assert submitted(course) == {"12345": "ada", "991": "smith"}
    assert outcomes(report)["stray.ipynb"] == (
        NOT_COLLECTED, "its name does not follow --id-pattern '_(?P<student>\\\\d+)_'")
    with pytest.raises(ValueError, match="needs a \\(\\?P<student>"):
        collect(course, "fx_basics", download, id_pattern=r"_(\d+)_")


def test_links_are_refused_never_followed(course, tmp_path):
    subs = tmp_path / "subs"
    (subs / "eve").mkdir(parents=True)
    (subs / "eve" / "fx_basics.ipynb").symlink_to(SOURCE)  # the instructor's solutions
    (subs / "mal").symlink_to(SOURCE.parent, target_is_directory=True)
    (subs / "zed_fx_basics.ipynb").symlink_to(SOURCE)
    report = collect(course, "fx_basics", subs)
    assert report.taken == [] and submitted(course) == {}
    assert [entry.outcome for entry in report.entries] == [NOT_COLLECTED] * 3
    assert all("symbolic link" in entry.reason for entry in report.entries)


def test_a_folder_named_like_a_notebook_is_reported(course, tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "ada" / "fx_basics.ipynb").mkdir(parents=True)
    (subs / "bob_fx_basics.ipynb").mkdir()
    shutil.copy(SOURCE, subs / "cyd_fx_basics.ipynb")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(subs)]) == 0
    assert capsys.readouterr().out.count("a folder named like a notebook") == 2
    assert set(submitted(course)) == {"cyd"}


def test_a_renamed_file_counts_only_when_nothing_was_handed_in_by_name(course, tmp_path):
    download = tmp_path / "download"
    write(download / "ada" / "my copy.ipynb", "ada")
    write(download / "bob" / "scratch.ipynb", "scratch", age_days=0)
    write(download / "bob" / "fx_basics.ipynb", "bob", age_days=1)
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": "ada", "bob": "bob"}
    assert "matches none of the assignment's notebooks" in outcomes(report)["bob/scratch.ipynb"][1]


def test_an_id_ending_with_the_notebooks_name_is_never_cut_to_another_id(course, tmp_path):
    """`<student>.ipynb` of a one-notebook assignment: `xfx_basics.ipynb` is student
    `xfx_basics`'s. It was read as `x`'s notebook (its name ended with `fx_basics`), so it was
    graded as x's, and x's own `x.ipynb` was dropped as a renamed file."""
    download = tmp_path / "download"
    write(download / "x.ipynb", "x")
    write(download / "xfx_basics.ipynb", "xfx_basics")
    write(download / "y-fx_basics.ipynb", "y")
    collect(course, "fx_basics", download)
    assert submitted(course) == {"x": "x", "xfx_basics": "xfx_basics", "y": "y"}


FLAT_ID_PIECES = st.sampled_from(["a", "x", "B", "fx", "basics", "fx_basics", "_", "-", "."])


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.builds("".join, st.lists(FLAT_ID_PIECES, min_size=1, max_size=4)),
                      min_size=1, max_size=5, unique=True))
def test_a_flat_file_is_collected_as_the_name_before_the_notebooks_or_its_own(tmp_path_factory,
                                                                              names):
    """Property: a flat file `<name>.ipynb` of a one-notebook assignment is the student's named
    by what comes before `_fx_basics` (or `-`, ` `, `.`), else by its whole name; never by a
    part of a word. Each student collected is the one expected, with their own file, or every
    file expected for a student is reported (two files of one student are attempts)."""
    expected = {}
    for name in names:
        owner = re.sub(r"[-_ .]+fx_basics$", "", name) if name != "fx_basics" else ""
        expected.setdefault(owner, []).append(name)
    download = tmp_path_factory.mktemp("download")
    for name in names:
        write(download / f"{name}.ipynb", name)
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    collect(course, "fx_basics", download, lms="none")
    for student, text in submitted(course).items():
        assert text in expected.get(student, []), f"{text}.ipynb collected as {student!r}"


def test_an_assignment_of_two_notebooks_takes_each_by_its_name(tmp_path):
    course = new_course(tmp_path / "course")
    (course.root / "source" / "two").mkdir()
    for name in ("part_a", "part_b"):
        shutil.copy(SOURCE, course.root / "source" / "two" / f"{name}.ipynb")
    download = tmp_path / "download"
    write(download / "ada" / "Part_A.ipynb", "a")
    write(download / "ada" / "part_b-1.ipynb", "b")
    write(download / "ada" / "notes.ipynb", "notes")
    report = collect(course, "two", download)
    assert sorted(f"{item.student}/{item.notebook}" for item in report.taken) == [
        "ada/part_a", "ada/part_b"]
    assert "matches none of the assignment's notebooks (part_a.ipynb, part_b.ipynb)" in \
        outcomes(report)["ada/notes.ipynb"][1]


def test_names_that_are_not_text_or_hold_control_characters_are_printed_escaped(course,
                                                                              tmp_path, capsys):
    download = tmp_path / "download"
    download.mkdir()
    (Path(os.fsdecode(bytes(download) + b"/\xff\xfe_fx_basics.ipynb"))).write_text("odd")
    write(download / "eve\nmallory_fx_basics.ipynb", "newline")
    write(download / "bob_fx_basics.ipynb", "bob")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download)]) == 0
    printed = capsys.readouterr().out
    assert "\\xff\\xfe_fx_basics.ipynb: '\\\\xff\\\\xfe' is not usable" in printed
    assert "eve\\nmallory_fx_basics.ipynb" in printed
    assert len(printed.splitlines()) == 4  # three entries and the summary: one line each
    assert submitted(course) == {"bob": "bob"}


def test_ids_that_differ_only_in_capitals_are_reported_never_mixed_up(course, tmp_path):
    """A reviewer's case: `Bob` and `bob` are one folder on macOS's or Windows' disks. Two
    spellings of an id the class does not know are refused; an id spelled otherwise than a
    student already collected is that student's, under the spelling collected."""
    write(tmp_path / "first" / "bob" / "fx_basics.ipynb", '{"bob": 1}')
    collect(course, "fx_basics", tmp_path / "first")
    write(tmp_path / "second" / "BOB" / "fx_basics.ipynb", '{"BOB": 1}', age_days=-1)
    write(tmp_path / "second" / "Ann" / "fx_basics.ipynb", '{"Ann": 1}')
    write(tmp_path / "second" / "ann" / "fx_basics.ipynb", '{"ann": 1}')
    report = collect(course, "fx_basics", tmp_path / "second")
    found = outcomes(report)
    assert found.pop("BOB/fx_basics.ipynb") == (COLLECTED, "as bob/fx_basics")
    for shown, (outcome, reason) in found.items():
        assert outcome == NOT_COLLECTED and "spelled otherwise" in reason, shown
    assert submitted(course) == {"bob": '{"BOB": 1}'}


def test_unknown_lms_is_a_clear_error(course, tmp_path):
    with pytest.raises(ValueError, match="unknown --lms 'sakai'"):
        collect(course, "fx_basics", tmp_path, lms="sakai")


@pytest.mark.parametrize("arguments, says", [
    (["missing"], "no folder .*missing: give the folder holding the downloaded submissions"),
    (["download.zip"], "download.zip is a file, not a folder: unzip it and give the folder"),
    (["download", "--id-pattern", "_(\\d+)_"], "needs a \\(\\?P<student>...\\) group"),
    (["download", "--id-pattern", "(?P<student>"], "--id-pattern is not a regular expression"),
    (["download", "--lms", "canvas", "--id-pattern", "(?P<student>x)"], "not both"),
])
def test_every_refusal_is_one_line_with_what_to_do(course, tmp_path, arguments, says, capsys,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "download" / "ada_fx_basics.ipynb", "ada")
    (tmp_path / "download.zip").write_bytes(b"PK")
    assert main(["--course", str(course.root), "collect", "fx_basics", *arguments]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(says, err), err
    assert submitted(course) == {}


# Random download folders. Students: ids, each with 1-3 attempts spread over a folder of their
# own, flat files, zips (at the top or in their folder), names in any case with attempt
# suffixes, sometimes an older copy of the same bytes; the whole folder either plainly named or
# in Canvas's, Moodle's or Blackboard's naming (given or detected).
# Noise: __MACOSX, hidden files, text files, empty folders, FIFOs and links named like
# notebooks, folders named like notebooks, broken zips, ids that are not usable.
IDS = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(
    lambda name: not name.startswith("zz")), min_size=1, max_size=6, unique=True)
PLACES = st.sampled_from(["folder", "nested", "flat", "zip", "folder_zip"])
CASES = st.sampled_from([str.lower, str.upper, str.title])
SUFFIXES = st.sampled_from(["-{k}", " ({k})"])
NOISE = st.sampled_from(["macosx", "hidden", "text", "empty", "fifo", "link", "notebook_dir",
                         "broken_zip", "bad_id", "case_twins"])


def _notebook_name(draw, k: int, prefix: str) -> str:
    """The name of attempt `k` (k > 0 carries the attempt number, as LMSs and browsers do)."""
    suffix = draw(SUFFIXES).format(k=k) if k else ""
    return prefix + draw(CASES)(f"fx_basics{suffix}") + draw(st.sampled_from([".ipynb", ".IPYNB"]))


def _attempt_path(draw, naming: str, student: str, sid: str, k: int) -> tuple[str, str]:
    """(kind, path) of a student's attempt `k` in a download named as `naming` says."""
    notebook = _notebook_name(draw, k, "")
    if naming == "canvas":
        return "file", f"{student}_{sid}_{700 + k}_{notebook}"
    if naming == "blackboard":
        return "file", f"fx_basics_{student}_attempt_2026-11-{10 + k:02d}-10-00-00_{notebook}"
    if naming == "moodle":
        return "file", f"{student.title()} Doe_{sid}_assignsubmission_file_/{notebook}"
    place = draw(PLACES)
    if place in ("folder", "nested"):
        return "file", f"{student}/{'sub/deeper/' if place == 'nested' else ''}{k}/{notebook}"
    if place == "flat":
        return "file", _notebook_name(draw, k, f"{student}_")
    # a zip at the top numbered as a browser numbers a second download, which no id can hold
    # (`ada-1.zip` may be student ada-1's: test_a_name_that_reads_as_two_students_...)
    return "zip", f"{student} ({k}).zip" if place == "zip" else f"{student}/{k}.zip"


@st.composite
def downloads(draw):
    """(files to make [(relative path, kind, content, age)], the expected {student: content},
    the expected {shown entry: outcome}, the --lms to give)."""
    naming = draw(st.sampled_from(["plain", "canvas", "moodle", "blackboard"]))
    made, expected, shown = [], {}, {}
    for number, student in enumerate(draw(IDS)):
        sid = str(10_000 + number) if naming in ("canvas", "moodle") else student
        attempts = draw(st.integers(1, 3))
        for k in range(attempts):
            content = json.dumps({"student": sid, "attempt": k})
            # later attempts are younger; an LMS's download gives every file one time, and
            # the attempt time or number in the name tells
            age = attempts - k if naming == "plain" else 0
            outcome = COLLECTED if k == attempts - 1 else OLDER
            kind, name = _attempt_path(draw, naming, student, sid, k)
            if kind == "zip":
                member = f"work/{_notebook_name(draw, k, '')}"
                made.append((name, "zip", (member, content), age))
                shown[f"{name}:{member}"] = outcome
            else:
                made.append((name, "file", content, age))
                shown[name] = outcome
        if naming == "plain" and draw(st.booleans()):  # the same bytes again, older
            made.append((f"{student}/copy/fx_basics.ipynb", "file", content, attempts + 1))
            shown[f"{student}/copy/fx_basics.ipynb"] = OLDER
        expected[sid] = content
    for index, kind in enumerate(draw(st.lists(NOISE, max_size=6))):
        if kind == "case_twins" and naming == "plain":  # one folder on a disk that ignores case
            for twin in (f"Zzcase{index}", f"zzcase{index}"):
                made.append((f"{twin}/fx_basics.ipynb", "file", "{}", 0))
                shown[f"{twin}/fx_basics.ipynb"] = NOT_COLLECTED
        if kind == "case_twins":
            continue
        name = {"macosx": "__MACOSX", "hidden": f".hidden{index}.ipynb",
                "text": f"zz{index}_notes.txt", "empty": f"zzempty{index}",
                "fifo": f"zzfifo{index}_fx_basics.ipynb", "link": f"zzlink{index}_fx_basics.ipynb",
                "notebook_dir": f"zzdir{index}_fx_basics.ipynb",
                "broken_zip": f"zzbroken{index}.zip",
                "bad_id": f"Zz Space{index}_fx_basics.ipynb"}[kind]
        if kind == "bad_id" and naming != "plain":
            continue  # a plainly named notebook in an LMS's download: collect asks for --lms
        if name not in shown:
            made.append((name, kind, "", 0))
            shown[name] = NOT_COLLECTED
    lms = draw(st.sampled_from(["none" if naming == "plain" else naming, None]))
    return made, expected, shown, lms


def make(folder: Path, made, outside: Path) -> None:
    for name, kind, content, age in made:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = 1_700_000_000 - age * DAY
        if kind == "file":
            write(path, content, age)
        elif kind == "zip":
            member, text = content
            with zipfile.ZipFile(path, "w") as archive:
                info = zipfile.ZipInfo(member, date_time=time.gmtime(stamp)[:6])
                archive.writestr(info, text)
            os.utime(path, (stamp, stamp))
        elif kind == "macosx":
            write(path / "ada" / "._fx_basics.ipynb", "fork")
        elif kind == "hidden" or kind == "text" or kind == "bad_id":
            write(path, "{}")
        elif kind == "empty" or kind == "notebook_dir":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "link":
            path.symlink_to(outside)
        elif kind == "broken_zip":
            path.write_bytes(b"PK\x03\x04 not really a zip")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=downloads())
def test_any_download_folder_ends_reports_every_entry_and_collects_each_latest_once(
        tmp_path_factory, case):
    made, expected, shown, lms = case
    folder = tmp_path_factory.mktemp("download")
    outside = tmp_path_factory.mktemp("outside") / "secret.ipynb"
    shutil.copy(SOURCE, outside)
    make(folder, made, outside)
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    with finishes_within(60):
        report = collect(course, "fx_basics", folder, lms=lms)
    reported = [entry.shown for entry in report.entries]
    assert len(reported) == len(set(reported)), "an entry reported twice"
    assert {entry.shown: entry.outcome for entry in report.entries} == shown
    assert all(entry.reason for entry in report.entries)
    assert submitted(course) == expected
    assert sorted(item.student for item in report.taken) == sorted(expected)


def test_ids_a_disk_would_change_or_merge_are_reported_never_collected(course, tmp_path, capsys):
    """`ada\\n` (a regular expression's `$` lets a last newline through), `ada.` (Windows drops
    the dot: `ada`'s folder), device names Windows keeps (`CON`, `nul.txt`): each is reported in
    one line saying why, and only `ada` is collected."""
    download = tmp_path / "download"
    for name in ("ada", "ada\n", "ada.", "CON", "nul.txt", "Com1"):
        write(download / name / "fx_basics.ipynb", json.dumps({"student": name}))
    write(download / "cy\n_fx_basics.ipynb", '{"student": "cy"}')
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 8  # seven entries and the summary, one line each
    assert submitted(course) == {"ada": '{"student": "ada"}'}
    said = "\n".join(printed)
    assert "'ada.' is not usable as a student id (ends with '.', which Windows drops)" in said
    for device in ("CON", "nul.txt", "Com1"):
        assert f"'{device}' is not usable as a student id (a device's name on Windows)" in said
    assert "'ada\\\\n' is not usable" in said and "'cy\\\\n' is not usable" in said


ID_PIECES = st.sampled_from(["a", "B", "b", "1", ".", "..", "-", "_", "@", "\n", " ", "\\", ":",
                             "con", "NUL", "lpt1", "é", "e\u0301", "\u202e", "\u200b", "="])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.builds("".join, st.lists(ID_PIECES, min_size=1, max_size=4)).filter(
    lambda name: name not in (".", "..")), max_size=6, unique=True))
def test_every_collected_id_is_one_folder_on_any_disk_and_nothing_else_is(tmp_path_factory,
                                                                          names):
    """Property: of folders named anything, collect takes exactly those whose name is a usable
    id (`student_id_problem`) no other spells otherwise (`id_key`); every other one is reported in
    one line; every folder collect makes is in submitted/ and names one student on any disk."""
    download = tmp_path_factory.mktemp("download")
    for name in names:
        write(download / name / "fx_basics.ipynb", json.dumps({"student": name}))
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    report = collect(course, "fx_basics", download, lms="none")
    usable = [n for n in names if student_id_problem(n) is None]
    folds = Counter(name.casefold() for name in usable)
    collected = sorted(name for name in usable if folds[name.casefold()] == 1)
    assert sorted(submitted(course)) == collected
    assert sorted(os.listdir(course.root)) == ["source", "submitted"][:1 + bool(collected)]
    assert all("\n" not in entry.line() for entry in report.entries)
    assert len(report.entries) == len(names)


def test_every_notebook_in_a_zip_is_reported_even_one_that_is_no_submission(course, tmp_path):
    """A zip member under a hidden folder, `..`, `__MACOSX` or `.ipynb_checkpoints` is no
    submission, and is said to be one line of its own, as such a file outside a zip is: it was
    skipped without a word (a student's notebook zipped as `../fx_basics.ipynb` vanished
    beside their other attempt)."""
    download = tmp_path / "download"
    download.mkdir()
    members = ["work/fx_basics.ipynb", "../fx_basics.ipynb", ".hidden/fx_basics.ipynb",
               "__MACOSX/._fx_basics.ipynb", "work/.ipynb_checkpoints/fx_basics-checkpoint.ipynb"]
    with zipfile.ZipFile(download / "ada.zip", "w") as archive:
        for member in members:
            archive.writestr(member, member)
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": "work/fx_basics.ipynb"}
    assert sorted(outcomes(report)) == sorted(f"ada.zip:{member}" for member in members)
    assert all(reason for _, reason in outcomes(report).values())


@pytest.mark.parametrize("lms", ["canvas", "moodle", "blackboard"])
def test_a_whole_lms_download_zipped_in_the_folder_is_refused_saying_unzip(course, tmp_path,
                                                                           lms):
    """The LMS's "download all submissions" is one zip; put in the download folder as it came,
    it is not one student's submission (it was collected as student 'submissions', and the
    notebooks of the others refused): the zip is reported, saying to unzip it."""
    download = tmp_path / "download"
    download.mkdir()
    with zipfile.ZipFile(download / "submissions.zip", "w") as archive:
        for path in sorted((FIXTURES / "lms" / lms).rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(FIXTURES / "lms" / lms)))
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {}
    (entry,) = [e for e in report.entries if e.shown == "submissions.zip"]
    assert entry.outcome == NOT_COLLECTED
    assert "a whole download" in entry.reason and "unzip it" in entry.reason
    assert all(e.outcome == NOT_COLLECTED for e in report.entries)


def roster_file(folder: Path, students: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "roster.csv"
    path.write_text("student\n" + "".join(f"{student}\n" for student in students))
    return path


def test_a_name_that_reads_as_two_students_is_refused_saying_both(course, tmp_path, capsys):
    """The sample: `x-1.ipynb` (student x-1, a legitimate id) was collected as student x's
    attempt 1, by the suffix stripping (`x-1` less `-1`), over x's own submission. Now a flat
    name that reads as one id whole and as another less an attempt suffix is taken only when
    the class knows the whole id and not the other; else it is reported, saying both."""
    write(tmp_path / "first" / "x" / "fx_basics.ipynb", '"x"', age_days=2)
    collect(course, "fx_basics", tmp_path / "first")
    write(tmp_path / "second" / "x-1.ipynb", '"x-1"')
    report = collect(course, "fx_basics", tmp_path / "second")
    outcome, reason = outcomes(report)["x-1.ipynb"]
    assert outcome == NOT_COLLECTED
    assert "reads as student 'x-1', or as student 'x' with the attempt suffix '-1'" in reason
    assert "'x-1' is not a student the course knows" in reason
    assert submitted(course) == {"x": '"x"'}
    # both on the roster: still either; x-1 alone on it: x-1's own
    both = roster_file(tmp_path / "both", ["x", "x-1"])
    assert main(["--course", str(course.root), "collect", "fx_basics", str(tmp_path / "second"),
                 "--roster", str(both)]) == 0
    assert "'x-1' and 'x' are both students of the course" in capsys.readouterr().out
    assert submitted(course) == {"x": '"x"'}
    other = new_course(tmp_path / "other")
    assert main(["--course", str(other.root), "collect", "fx_basics", str(tmp_path / "second"),
                 "--roster", str(roster_file(tmp_path / "one", ["x-1", "y"]))]) == 0
    assert submitted(other) == {"x-1": '"x-1"'}


def test_a_whole_name_on_the_roster_is_that_students_never_cut_to_another(course, tmp_path):
    """`x_fx_basics.ipynb` of student `x_fx_basics` (on the roster) was read as student x's
    notebook; a name that reads as two students of the roster is reported."""
    write(tmp_path / "download" / "x_fx_basics.ipynb", '"x_fx_basics"')
    report = collect(course, "fx_basics", tmp_path / "download", roster=["x_fx_basics"])
    assert submitted(course) == {"x_fx_basics": '"x_fx_basics"'}
    other = new_course(tmp_path / "other")
    report = collect(other, "fx_basics", tmp_path / "download", roster=["x", "x_fx_basics"])
    assert submitted(other) == {}
    assert "reads as student 'x''s fx_basics, or as student 'x_fx_basics'" in \
        outcomes(report)["x_fx_basics.ipynb"][1]


def test_a_roster_id_spelled_otherwise_is_collected_under_the_rosters_spelling(course, tmp_path,
                                                                            capsys):
    """A reviewer's case: with `Bob` on the roster, `bob.ipynb` was collected as a second
    student `bob` (Bob missing), `X-1.ipynb` of the roster's `x-1` was refused as no student the
    course knows, and `jose\u0301/` typed on macOS was refused against the per-student roster's
    `jos\u00e9`. Each is now taken under the class's own spelling; a name that is two ids the
    class holds (`Bob` on the roster, `bob` collected) is reported, naming both."""
    download = tmp_path / "download"
    write(download / "bob.ipynb", '"bob"')
    write(download / "X-1.ipynb", '"X-1"')
    write(download / "jose\u0301" / "fx_basics.ipynb", '"jose"')
    (course.root / "variants.json").write_text(json.dumps({"students": ["jos\u00e9"]}))
    roster = roster_file(tmp_path / "roster", ["Bob", "x-1"])
    assert main(["--course", str(course.root), "collect", "fx_basics", str(download),
                 "--roster", str(roster)]) == 0
    printed = capsys.readouterr().out
    assert "collected      bob.ipynb: as Bob/fx_basics" in printed
    assert "collected      X-1.ipynb: as x-1/fx_basics" in printed
    assert submitted(course) == {"Bob": '"bob"', "x-1": '"X-1"', "jos\u00e9": '"jose"'}
    other = new_course(tmp_path / "other")
    (other.root / "submitted" / "bob").mkdir(parents=True)
    assert main(["--course", str(other.root), "collect", "fx_basics", str(download),
                 "--roster", str(roster)]) == 0
    printed = capsys.readouterr().out
    assert ("not collected  bob.ipynb: its student id 'bob' is 'Bob' and 'bob' of the class, "
            "one id spelled two ways") in printed
    assert "Bob" not in submitted(other) and "bob" not in submitted(other)


def respell(student: str, ways: list[str]) -> str:
    """`student` spelled otherwise, as a reader, an LMS or a disk that folds names takes for
    the same id (`id_key`): in other capitals, Unicode's decomposed (macOS) or composed form,
    fullwidth letters and digits, ligatures."""
    for way in ways:
        if way == "fullwidth":
            student = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c
                              for c in student)
        elif way == "ligature":
            student = student.replace("fi", "\ufb01").replace("ff", "\ufb00")
        elif way in ("NFC", "NFD"):
            student = unicodedata.normalize(way, student)
        else:
            student = getattr(student, way)()
    return student


# ending in a letter or digit: `B_` of `B__fx_basics.ipynb` reads as `B` (its separators)
ASCII_IDS = st.from_regex(r"[abfiKB](?:[abfiKB1@._]{0,4}[abfiKB1])?", fullmatch=True).filter(
    lambda name: student_id_problem(name) is None)
# ids nbgrader's own collect or a gradebook may hold, beyond collect's ASCII ones
HELD_IDS = st.sampled_from(["jos\u00e9", "\u00dcnal", "\u00c5sa", "Fi\u00f1a"])
WAYS = st.lists(st.sampled_from(["upper", "lower", "swapcase", "NFD", "NFC", "fullwidth",
                                 "ligature"]), min_size=1, max_size=3)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ids=st.lists(st.one_of(ASCII_IDS, HELD_IDS), min_size=1, max_size=5,
                    unique_by=id_key), data=st.data())
def test_a_known_id_spelled_otherwise_lands_under_the_class_spelling(tmp_path_factory, ids,
                                                                     data):
    """Property: over ids the class knows (a roster given to collect, or students collected
    before, non-ASCII ones held as nbgrader's own collect makes them) and downloads naming
    them in other capitals or Unicode forms (`respell`), as a folder, a flat file, a
    `<student>_<notebook>` file or a zip, every file is collected under the class's own
    spelling of its id, and no folder of submitted/ is a new student."""
    roster, made = [], {}
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    download = tmp_path_factory.mktemp("download")
    for student in ids:
        if student_id_problem(student) is None and data.draw(st.booleans()):
            roster.append(student)
        else:
            (course.root / "submitted" / student).mkdir(parents=True)
        if not data.draw(st.booleans()):
            continue
        name = respell(student, data.draw(WAYS))
        assert id_key(name) == id_key(student)
        layout = data.draw(st.sampled_from(["{}/fx_basics.ipynb", "{}.ipynb",
                                            "{}_fx_basics.ipynb", "{}.zip"]))
        path = download / layout.format(name)
        if layout.endswith(".zip"):
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("work/fx_basics.ipynb", json.dumps(student))
        else:
            write(path, json.dumps(student))
        made[layout.format(name).split("/")[0]] = student
    report = collect(course, "fx_basics", download, lms="none", roster=roster)
    for entry in report.entries:
        student = made[entry.shown.split("/")[0].split(":")[0]]
        assert (entry.outcome, entry.student) == (COLLECTED, student), entry.line()
    assert submitted(course) == {student: json.dumps(student) for student in made.values()}
    assert {path.name for path in course.root.glob("submitted/*")} <= set(ids)


NAME_PIECES = st.sampled_from(["x", "y", "-1", "-2", "_copy", "-Copy1", "_fx_basics", "."])
NAME_IDS = st.builds("".join, st.lists(NAME_PIECES, min_size=1, max_size=3)).filter(
    lambda name: student_id_problem(name) is None)
NAME_SUFFIXES = st.lists(st.sampled_from(["-1", "-2", " (2)", "-Copy1", "_copy"]), max_size=2)
LAYOUT_SUFFIX = re.compile(r"(?:-[0-9]+|\s*\([0-9]+\)|[-_ ]copy[0-9]*)*", re.IGNORECASE)


def names_exactly(stem: str) -> set[str]:
    """The usable ids a flat name names exactly (the property's oracle, written apart from
    collect's reading): the whole name less the browser's ` (2)` suffixes, which no id can
    hold, and any text before the notebook's name and its separators, followed only by attempt
    suffixes (`ada` of `ada_fx_basics-2`)."""
    named = {re.sub(r"(?:\s*\([0-9]+\))+$", "", stem)}
    lowered = stem.lower()
    for at in (match.start() for match in re.finditer("fx_basics", lowered)):
        before, after = stem[:at], stem[at + len("fx_basics"):]
        if LAYOUT_SUFFIX.fullmatch(after) and before[-1:] in list("_- ."):
            named.add(before.rstrip("_- ."))
    return {name for name in named if name and student_id_problem(name) is None}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ids=st.lists(NAME_IDS, min_size=1, max_size=4, unique=True),
       data=st.data())
def test_no_flat_file_lands_with_a_student_other_than_the_one_it_names(tmp_path_factory, ids,
                                                                       data):
    """Property: over rosters (students the course already holds) and flat files and zips
    named from ids, separators, the notebook's name and attempt suffixes, each file is
    collected as (or an older attempt of) a student its name names exactly
    (`names_exactly`), the one on the roster when its name names one there; or it is reported
    with a reason. No file becomes another student's."""
    roster = data.draw(st.lists(st.sampled_from(["x", "y", "x-1", "x_copy", *ids]),
                                unique=True, max_size=4))
    made = {}
    for student in ids:
        layout = data.draw(st.sampled_from(["", "_fx_basics", "-fx_basics"]))
        stem = student + layout + "".join(data.draw(NAME_SUFFIXES))
        zipped = data.draw(st.booleans())
        name = stem + (".zip" if zipped else ".ipynb")
        if name.lower() in {made_name.lower() for made_name in made}:
            continue
        made[name] = json.dumps(name)
    download = tmp_path_factory.mktemp("download")
    for number, (name, content) in enumerate(sorted(made.items())):
        if name.endswith(".zip"):
            with zipfile.ZipFile(download / name, "w") as archive:
                archive.writestr("work/fx_basics.ipynb", content)
        else:
            write(download / name, content, age_days=number)
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    for student in roster:
        (course.root / "submitted" / student).mkdir(parents=True)
    report = collect(course, "fx_basics", download, lms="none")

    def allowed(name: str) -> set[str]:
        exact = names_exactly(Path(name).stem)
        return (exact & set(roster)) or exact

    for student, text in submitted(course).items():
        name = json.loads(text)
        assert not allowed(name) or student in allowed(name), f"{name} collected as {student!r}"
    seen = {entry.shown.split(":")[0]: entry for entry in report.entries}
    assert set(seen) == set(made)
    for name, entry in seen.items():
        assert entry.reason, name
        if entry.outcome != NOT_COLLECTED:
            assert not allowed(name) or entry.student in allowed(name), (name, entry.student)


def test_an_older_download_never_replaces_a_later_submission_unless_told(course, tmp_path,
                                                                         capsys):
    """The sample: collecting last week's download after today's replaced ada's later
    submission with her older one (timestamp.txt was written, never compared). Now the later
    one is kept and the older reported, saying how to take it; --replace-newer takes it."""
    write(tmp_path / "today" / "ada" / "fx_basics.ipynb", '"resubmitted"', age_days=0)
    write(tmp_path / "last_week" / "ada" / "fx_basics.ipynb", '"first"', age_days=7)
    collect(course, "fx_basics", tmp_path / "today")
    report = collect(course, "fx_basics", tmp_path / "last_week")
    assert submitted(course) == {"ada": '"resubmitted"'}
    outcome, reason = outcomes(report)["ada/fx_basics.ipynb"]
    assert outcome == OLDER and report.taken == []
    assert "the submission collected before (2023-11-14 22:13:20 UTC) is as late or later " \
           "than this one (2023-11-07 22:13:20 UTC): kept it; give --replace-newer" in reason
    assert main(["--course", str(course.root), "collect", "fx_basics",
                 str(tmp_path / "last_week"), "--replace-newer"]) == 0
    assert submitted(course) == {"ada": '"first"'}
    assert "replacing a later one collected before: --replace-newer" in capsys.readouterr().out
    # a submission of no known time (placed by hand) is never replaced without being told
    (course.root / "submitted" / "ada" / "fx_basics" / "timestamp.txt").unlink()
    report = collect(course, "fx_basics", tmp_path / "today")
    assert submitted(course) == {"ada": '"first"'}
    assert "has no readable timestamp.txt" in outcomes(report)["ada/fx_basics.ipynb"][1]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(times=st.lists(st.integers(0, 50), min_size=1, max_size=5, unique=True),
       data=st.data())
def test_the_collected_submission_is_the_latest_in_any_order_of_downloads(tmp_path_factory,
                                                                          times, data):
    """Property: several downloads of one student's notebook, each handed in at its own time,
    collected in any order (sometimes one with --replace-newer): the submission collected is
    the latest of those collected since the last forced one (the forced one included), so
    without one, the latest of all, whatever the order; every download's file is reported."""
    order = data.draw(st.permutations(range(len(times))))
    forced = data.draw(st.one_of(st.none(), st.sampled_from(range(len(times)))))
    course = new_course(tmp_path_factory.mktemp("course") / "course")
    holding = None
    for step, index in enumerate(order):
        folder = tmp_path_factory.mktemp("download")
        write(folder / "ada" / "fx_basics.ipynb", json.dumps(index), age_days=-times[index])
        report = collect(course, "fx_basics", folder, replace_newer=step == forced)
        (entry,) = report.entries
        assert entry.reason and entry.outcome in (COLLECTED, OLDER)
        if holding is None or step == forced or times[index] > times[holding]:
            holding = index
        assert submitted(course) == {"ada": json.dumps(holding)}
    if forced is None:
        assert holding == max(range(len(times)), key=times.__getitem__)


CH1 = ROOT / "notebooks" / "ch1_base_models.ipynb"  # the student edition of another chapter


def course_of_two(root: Path) -> Course:
    """The fixture course with the course's chapter 1 beside fx_basics."""
    course = new_course(root)
    shutil.copytree(ROOT / "course" / "source" / "ch1_base_models",
                    root / "source" / "ch1_base_models")
    return course


def test_another_chapter_handed_in_under_this_ones_name_is_reported_never_collected(tmp_path):
    """Collecting ch1's download into fx_basics (the wrong assignment typed), or a student's
    chapter 1 renamed fx_basics.ipynb: it was collected as fx_basics, graded 0 and put over
    what the student had handed in for fx_basics. Its cells say which notebook it is."""
    course = course_of_two(tmp_path / "course")
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    shutil.copy(CH1, download / "ada" / "fx_basics.ipynb")
    shutil.copy(CH1, download / "bob_ch1_base_models.ipynb")
    shutil.copy(SOURCE, download / "cyd_fx_basics.ipynb")
    report = collect(course, "fx_basics", download)
    assert set(submitted(course)) == {"cyd"}
    outcome, reason = outcomes(report)["ada/fx_basics.ipynb"]
    assert outcome == NOT_COLLECTED and reason == (
        "named as fx_basics, but its cells are those of ch1_base_models.ipynb of assignment "
        "ch1_base_models: not collected as fx_basics; collect it as `llmf-grade collect "
        "ch1_base_models <folder>`")
    assert "its cells are those of ch1_base_models.ipynb" in outcomes(report)[
        "bob_ch1_base_models.ipynb"][1]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.tuples(st.sampled_from(["fx", "ch1", "junk"]),
                                st.sampled_from(["fx_basics.ipynb", "ch1_base_models.ipynb",
                                                 "mine.ipynb", "fx_basics-2.ipynb"])),
                      min_size=1, max_size=4, unique_by=lambda file: file[1]))
def test_no_notebook_of_another_chapter_is_ever_collected_as_this_one(tmp_path_factory, files):
    """Property: whatever a student's folder holds under whatever names (this chapter's
    notebook, another chapter's, a file that is no notebook), what is collected as fx_basics is
    never another chapter's notebook, something is when a file holds this chapter's, and every
    file is reported."""
    course = course_of_two(tmp_path_factory.mktemp("course") / "course")
    download = tmp_path_factory.mktemp("download")
    (download / "ada").mkdir()
    contents = {"fx": SOURCE.read_text(), "ch1": CH1.read_text(), "junk": '{"cells": []}'}
    for age, (kind, name) in enumerate(files):
        write(download / "ada" / name, contents[kind], age_days=age)
    report = collect(course, "fx_basics", download)
    assert submitted(course).get("ada", "") != contents["ch1"]
    assert "ada" in submitted(course) or all(kind != "fx" for kind, _ in files)
    assert sorted(entry.shown for entry in report.entries) == sorted(
        f"ada/{name}" for _, name in files)
    assert all(entry.reason for entry in report.entries)


def test_a_renamed_file_is_taken_when_the_one_named_as_the_notebook_cannot_be(tmp_path):
    """ada's `fx_basics.ipynb` is chapter 1 (refused by its cells), her work is `my copy.ipynb`:
    the renamed file was refused because she had handed fx_basics.ipynb in by name, and none of
    her work was collected. A renamed file is now the student's last resort, not refused."""
    course = course_of_two(tmp_path / "course")
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    shutil.copy(CH1, download / "ada" / "fx_basics.ipynb")
    write(download / "ada" / "my copy.ipynb", SOURCE.read_text(), age_days=3)
    write(download / "bob" / "fx_basics.ipynb", '"bob"', age_days=3)
    write(download / "bob" / "scratch.ipynb", '"scratch"')
    report = collect(course, "fx_basics", download)
    assert submitted(course) == {"ada": SOURCE.read_text(), "bob": '"bob"'}
    assert outcomes(report)["ada/my copy.ipynb"][0] == COLLECTED
    assert outcomes(report)["bob/scratch.ipynb"] == (
        NOT_COLLECTED, "its name matches none of the assignment's notebooks (fx_basics.ipynb), "
        "and the student handed that in by name (bob/fx_basics.ipynb)")


def test_an_attempt_taken_by_its_number_stays_later_than_the_one_it_beat(course, tmp_path):
    """`bob_fx_basics-2` is taken over `bob_fx_basics` by its number though its file is older;
    its timestamp.txt said its own (older) time, so a later download holding only
    `bob_fx_basics` replaced it: the order of two collects decided. Now the attempt taken is
    recorded no earlier than the attempts it was ranked above, and either order keeps -2."""
    both, first_only = tmp_path / "both", tmp_path / "first_only"
    write(both / "bob_fx_basics.ipynb", '"first"', age_days=1)
    write(both / "bob_fx_basics-2.ipynb", '"second"', age_days=3)
    write(first_only / "bob_fx_basics.ipynb", '"first"', age_days=1)
    for order in ((both, first_only), (first_only, both)):
        again = new_course(tmp_path / f"course-{order[0].name}")
        for folder in order:
            collect(again, "fx_basics", folder)
        assert submitted(again) == {"bob": '"second"'}, [folder.name for folder in order]
