"""A learner works in a copy of their own: `make course` serves work/, where its first start
copied the chapters, and nothing the learner does in JupyterLab (edit, save, run) changes a file
of the repository: git sees no change in the served checkout afterwards."""

from __future__ import annotations

import json
import time

from lab_server import ROOT

try:
    from notebook_page import NotebookPage, new_context, new_page
except ImportError:  # no Playwright: the `browser` fixture skips these tests (under CI: fails)
    pass

CHAPTER = "ch1_base_models.ipynb"
EDIT = "# the learner's own note, saved with the notebook\nprint('my work')"
SAVE_TIMEOUT_SECONDS = 60


def saved_sources(path) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]


def test_editing_saving_and_running_a_chapter_leaves_the_repository_untouched(
    browser, course_server, evidence
):
    work = course_server.checkout / "work"
    log = course_server.log_path.read_text()
    assert f"copied {CHAPTER} to {work}" in log, log[-2000:]
    cells = len(saved_sources(ROOT / "notebooks" / CHAPTER))
    context = new_context(browser)
    page, _ = new_page(context)
    try:
        notebook = NotebookPage(page, course_server, CHAPTER).open(cell_count=cells)
        found = notebook.code_cell_containing("import numpy as np")
        cell = notebook.cells.nth(notebook.cell_index(found))  # still this cell once edited
        notebook.replace_source(cell, EDIT)
        notebook.run_cell(cell)
        page.keyboard.press("ControlOrMeta+s")
        deadline = time.monotonic() + SAVE_TIMEOUT_SECONDS
        while EDIT not in saved_sources(work / CHAPTER) and time.monotonic() < deadline:
            time.sleep(0.2)
        page.screenshot(path=str(evidence / "working-copy-edited-and-saved.png"))
    finally:
        context.close()
    assert EDIT in saved_sources(work / CHAPTER), "JupyterLab did not save into work/"
    assert EDIT not in (course_server.checkout / "notebooks" / CHAPTER).read_text()
    assert course_server.tracked_changes() == ""
