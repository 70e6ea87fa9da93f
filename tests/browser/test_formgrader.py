"""The instructor's Formgrader, opened from JupyterLab's Nbgrader menu on the server that
`make instructor` starts in a fresh course folder: Manage Assignments lists every chapter of
the course at the first load (the gradebook is created by that very load)."""

from __future__ import annotations

from lab_server import ROOT

try:
    from notebook_page import new_context, new_page
    from playwright.sync_api import expect
except ImportError:  # no Playwright: the `browser` fixture skips these tests (under CI: fails)
    pass

ASSIGNMENTS = sorted(path.name for path in (ROOT / "course/source").iterdir()
                     if path.is_dir())


def test_manage_assignments_lists_every_chapter_at_the_first_load(
    browser, instructor_server, evidence
):
    assert ASSIGNMENTS, "the course folder has no assignments"
    context = new_context(browser)
    page, problems = new_page(context)
    try:
        page.goto(instructor_server.url("lab/workspaces/formgrader?reset"))
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Formgrader", exact=True).click()
        formgrader = page.frame_locator("iframe[src*='formgrader']")
        expect(formgrader.get_by_role("heading", name="Manage Assignments")).to_be_visible()
        rows = formgrader.locator("table tbody tr")
        try:
            for assignment in ASSIGNMENTS:
                expect(rows.filter(has_text=assignment)).to_have_count(1)
        except AssertionError as missing:
            shown = "\n".join(problems)
            raise AssertionError(f"{missing}\nthe page's problems:\n{shown}") from missing
        rows.last.scroll_into_view_if_needed()
        page.screenshot(path=str(evidence / "formgrader-manage-assignments.png"))
        assert not problems, "\n".join(problems)
    finally:
        context.close()
