"""Manual grading reaches the student: in the instructor's lab (`make instructor` serving the
course folder LLMF_COURSE names), a written answer is graded 1.5 of 2 with a comment through
Formgrader's own REST API, the one its Manual Grading page calls; `llmf-grade feedback`, run
afterwards, shows the score and the comment on the student's page."""

from __future__ import annotations

import json

import nbformat
import pytest
import synthetic
from grading_cli import FAST, SOURCE, llmf, released_course
from lab_server import LabServer

try:
    from notebook_page import new_context, new_page
    from playwright.sync_api import expect
except ImportError:  # no Playwright: the `browser` fixture skips these tests (under CI: fails)
    pass

COMMENT = "Right idea: say why the largest exponent becomes 0."


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """The fixture course released, with one student's notebook collected and graded."""
    root = released_course(tmp_path_factory.mktemp("manual") / "course")
    folder = tmp_path_factory.mktemp("submissions")
    notebook = synthetic.student_notebook(SOURCE, synthetic.correct_answers(SOURCE))
    nbformat.write(notebook, str(folder / "ada_fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    assert llmf(root, "grade", *FAST) == 0
    return root


def test_a_comment_and_score_given_in_formgrader_reach_the_feedback_page(
    browser, evidence, graded_course, tmp_path_factory
):
    context = new_context(browser)
    page, _ = new_page(context)
    workdir = tmp_path_factory.mktemp("instructor-private")
    try:
        with LabServer("instructor", workdir, {"LLMF_COURSE": str(graded_course)}) as server:
            assert f"serving the course folder {graded_course.resolve()}" in (
                server.log_path.read_text())
            headers = {"Authorization": f"token {server.token}"}

            def api(method: str, path: str, body: dict | None = None):
                response = page.request.fetch(f"{server.base_url}formgrader/api/{path}",
                                              method=method, headers=headers,
                                              data=json.dumps(body) if body else None)
                assert response.ok, f"{method} {path}: {response.status} {response.text()}"
                return response.json()

            (submission,) = api("GET", "submitted_notebooks/fx_basics/fx_basics")
            grades = api("GET", f"grades?submission_id={submission['id']}")
            (grade,) = [g for g in grades if g["name"] == "explain_answer"]
            api("PUT", f"grade/{grade['id']}", {"manual_score": 1.5})
            comments = api("GET", f"comments?submission_id={submission['id']}")
            (comment,) = [c for c in comments if c["name"] == "explain_answer"]
            api("PUT", f"comment/{comment['id']}", {"manual_comment": COMMENT})
            page.goto(server.url(f"formgrader/submissions/{submission['id']}/?index=0"))
            page.screenshot(path=str(evidence / "formgrader-written-answer-graded.png"),
                            full_page=True)
        assert llmf(graded_course, "feedback") == 0
        page.goto((graded_course / "feedback" / "ada" / "fx_basics" / "fx_basics.html").as_uri())
        body = page.locator("body")
        expect(body).to_contain_text("1.5 / 2")
        expect(body).to_contain_text(f"your instructor's comment: {COMMENT}")
        expect(body).not_to_contain_text("waiting for your instructor")
        page.screenshot(path=str(evidence / "feedback-with-manual-grade.png"), full_page=True)
    finally:
        context.close()
