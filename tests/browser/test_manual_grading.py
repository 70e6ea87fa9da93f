"""Manual grading reaches the student: in the instructor's lab (`make instructor` serving the
course folder LLMF_COURSE names), a written answer is graded 1.5 of 2 with a comment through
Formgrader's own REST API, the one its Manual Grading page calls; `llmf-grade feedback`, run
afterwards, shows the score and the comment on the student's page. Formgrader's grading page,
opened with every request off the machine refused, shows the answer's math typeset."""

from __future__ import annotations

import json
from urllib.parse import urlparse

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
WRITTEN = "Subtracting $m = \\max_j z_j$ changes nothing: $e^{z_i - m} / \\sum_j e^{z_j - m}$."


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """The fixture course released, with one student's notebook collected and graded."""
    root = released_course(tmp_path_factory.mktemp("manual") / "course")
    folder = tmp_path_factory.mktemp("submissions")
    notebook = synthetic.student_notebook(SOURCE, synthetic.correct_answers(SOURCE),
                                          written=WRITTEN)
    nbformat.write(notebook, str(folder / "ada_fx_basics.ipynb"))
    assert llmf(root, "collect", "fx_basics", folder) == 0
    assert llmf(root, "grade", *FAST) == 0
    return root


def test_a_comment_and_score_given_in_formgrader_reach_the_feedback_page(
    browser, evidence, graded_course, tmp_path_factory
):
    context = new_context(browser)
    off_the_machine = []  # the network is unreachable: every request elsewhere is refused

    def only_this_machine(route):
        url = urlparse(route.request.url)
        if url.scheme == "file" or url.hostname in ("localhost", "127.0.0.1", "::1"):
            return route.continue_()
        off_the_machine.append(route.request.url)
        return route.abort("internetdisconnected")

    context.route("**/*", only_this_machine)
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
            answer = page.locator(".text_cell_render").filter(has_text="changes nothing")
            # MathJax 2 turns each $...$ into a math/tex script and typesets it beside
            expect(answer.locator("script[type^='math/tex']")).to_have_count(2)
            expect(answer.locator(".MathJax, .MathJax_CHTML, .MathJax_SVG").first).to_be_visible()
            expect(answer).not_to_contain_text("$")
            assert not off_the_machine, off_the_machine
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
