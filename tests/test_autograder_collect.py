"""`llmf-grade collect` as a careful instructor would: LMS layouts, links, odd folders, drafts.

The LMS fixtures (tests/fixtures/lms/) follow each system's documented download naming:
Canvas `<lastfirst>[_late]_<user id>_<submission id>_<file>`, Moodle folders
`<Full Name>_<participant id>_assignsubmission_file_/`, Blackboard
`<assignment>_<username>_attempt_<date-time>_<file>`.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.collect import CollectWarning, collect, find_submissions
from autograder.course_folder import Course

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SOURCE = FIXTURES / "course" / "source" / "fx_basics" / "fx_basics.ipynb"


@pytest.fixture
def course(tmp_path) -> Course:
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "course" / "source", root / "source")
    return Course(root)


def submitted(course: Course) -> dict[str, str]:
    """{student: the submitted notebook's text} for fx_basics."""
    return {path.parent.parent.name: path.read_text()
            for path in course.root.glob("submitted/*/fx_basics/fx_basics.ipynb")}


@pytest.mark.parametrize("lms, expected", [
    ("canvas", {"12345": "canvas: Ada", "23456": "canvas: Grace, late"}),
    ("moodle", {"12345": "moodle: Ada", "23456": '"moodle: Grace"'}),  # not the draft
    ("blackboard", {"alovelace": "blackboard: Ada", "ghopper": "blackboard: Grace, renamed"}),
])
def test_each_lms_export_is_collected_by_name(course, lms, expected, capsys):
    assert main(["--course", str(course.root), "collect", "fx_basics",
                 str(FIXTURES / "lms" / lms), "--lms", lms]) == 0
    found = submitted(course)
    assert set(found) == set(expected)
    for student, text in expected.items():
        assert text in found[student]


def test_moodle_draft_beside_the_assignments_notebook_is_named_not_graded(course):
    with pytest.warns(CollectWarning, match="took .*/fx_basics.ipynb .*ignored .*wip_fx_basics"):
        collect(course, "fx_basics", FIXTURES / "lms" / "moodle", lms="moodle")
    assert "draft" not in submitted(course)["23456"]


def test_two_drafts_and_no_assignment_notebook_take_neither_with_a_clear_choice(course, tmp_path):
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    for name in ("wip_fx_basics.ipynb", "old_fx_basics.ipynb"):
        shutil.copy(SOURCE, tmp_path / "subs" / "ada" / name)
    with pytest.warns(CollectWarning, match="not exactly one is named fx_basics.ipynb"):
        assert collect(course, "fx_basics", tmp_path / "subs") == []


def test_id_pattern_reads_folder_names_too(course, tmp_path):
    folder = tmp_path / "subs" / "Ada Lovelace_12345_assignsubmission_file_"
    folder.mkdir(parents=True)
    shutil.copy(SOURCE, folder / "mine.ipynb")
    taken = collect(course, "fx_basics", tmp_path / "subs",
                    id_pattern=r"_(?P<student>\d+)_assignsubmission")
    assert [item.student for item in taken] == ["12345"]


def test_links_are_refused_never_followed(course, tmp_path):
    subs = tmp_path / "subs"
    (subs / "eve").mkdir(parents=True)
    (subs / "eve" / "fx_basics.ipynb").symlink_to(SOURCE)  # the instructor's solutions
    (subs / "mal").symlink_to(SOURCE.parent, target_is_directory=True)
    (subs / "zed_fx_basics.ipynb").symlink_to(SOURCE)
    with pytest.warns(CollectWarning, match="symbolic link") as caught:
        assert collect(course, "fx_basics", subs) == []
    assert len(caught) == 3
    assert submitted(course) == {}


def test_a_folder_named_like_a_notebook_is_skipped_with_a_warning(course, tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "ada" / "fx_basics.ipynb").mkdir(parents=True)
    (subs / "bob_fx_basics.ipynb").mkdir()
    shutil.copy(SOURCE, subs / "cyd_fx_basics.ipynb")
    assert main(["--course", str(course.root), "collect", "fx_basics", str(subs)]) == 0
    err = capsys.readouterr().err
    assert err.count("a folder named like a notebook") == 2
    assert set(submitted(course)) == {"cyd"}


def test_unknown_lms_is_a_clear_error(course, tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown --lms 'sakai'"):
        collect(course, "fx_basics", tmp_path, lms="sakai")


NAMES = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)  # valid student ids
ENTRY = st.tuples(st.sampled_from(["file", "dir", "link", "notebook_dir"]), NAMES,
                  st.sampled_from(["fx_basics.ipynb", "wip_fx_basics.ipynb", "x.ipynb", "a.txt"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(ENTRY, max_size=12))
def test_collect_never_follows_a_link_and_takes_one_file_per_notebook(tmp_path_factory, entries):
    """Random trees of student folders, flat files, links and notebook-named folders: whatever
    is found is a regular file reached without passing a link, at most one per student."""
    folder = tmp_path_factory.mktemp("random")
    outside = tmp_path_factory.mktemp("outside")
    shutil.copy(SOURCE, outside / "secret.ipynb")
    for kind, student, name in entries:
        place = folder / student
        place.mkdir(exist_ok=True)
        target = place / name
        if target.exists() or target.is_symlink():
            continue
        if kind == "file":
            target.write_text("{}")
        elif kind == "dir" or kind == "notebook_dir":
            target.mkdir()
        else:
            target.symlink_to(outside / "secret.ipynb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollectWarning)
        found = find_submissions(folder, ["fx_basics"])
    keys = [(student, notebook) for student, notebook, _ in found]
    assert len(keys) == len(set(keys))
    for _, _, path in found:
        relative = path.relative_to(folder)
        for depth in range(1, len(relative.parts) + 1):
            assert not (folder / Path(*relative.parts[:depth])).is_symlink()
        assert path.is_file() and os.path.realpath(path).startswith(str(folder.resolve()))
