"""A student notebook open in JupyterLab, driven the way a learner drives it.

Every wait is on a condition JupyterLab shows (the kernel's status, the run's progress, a cell's
prompt), never a fixed pause. Elements are found by what a learner sees (menus by name, widgets
by their ipywidgets class, buttons by label), cells only by their place in the notebook file.

Example:
    notebook = NotebookPage(page, server, "ch1_base_models.ipynb").open(cell_count=62)
    notebook.run_all()
    report = notebook.report()
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

RUN_ALL_TIMEOUT_MS = 600_000  # an upper bound on a chapter's Run All on a loaded machine
KERNEL_TIMEOUT_MS = 180_000  # kernel start, or one cell
# How often a wait re-checks its condition in the page (Playwright's default, every animation
# frame, keeps a busy page re-evaluating it 60 times a second for a minute of Run All).
POLL_MS = 100

# JupyterLab's execution indicator (notebook toolbar): data-status is the kernel's status, and its
# tooltip says "Executed 3/34 cells" during a run and "Executed 34 cells" once the run is over.
INDICATOR = ".jp-Notebook-ExecutionIndicator"
RUN_FINISHED = re.compile(r"Executed \d+ cells")

# One pass over the rendered notebook: what each cell shows. Error outputs are told from other
# stderr text by IPython's traceback header; math left raw is a $...$ or $$ outside code.
REPORT_JS = """
() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => {
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
    const errors = outputs
        .map(output => output.textContent)
        .filter(text => text.includes('Traceback (most recent call last)'))
        .map(text => (text.match(/^\\s*-*\\s*(\\w+)\\s+Traceback/m) || [null, '?'])[1]);
    let rawMath = null;
    const markdown = cell.querySelector('.jp-RenderedMarkdown');
    if (markdown) {
        const copy = markdown.cloneNode(true);
        copy.querySelectorAll('mjx-container, code, pre').forEach(node => node.remove());
        const raw = copy.textContent.match(/\\$\\$|\\$[^$\\s][^$]*\\$/);
        rawMath = raw ? raw[0] : null;
    }
    return {
        code: cell.classList.contains('jp-CodeCell'),
        errors,
        images: [...cell.querySelectorAll('.jp-OutputArea img')].map(
            img => img.complete && img.naturalWidth > 0),
        loadingWidgets: (cell.textContent.match(/Loading widget/g) || []).length,
        widgets: cell.querySelectorAll('.jupyter-widgets').length,
        math: cell.querySelectorAll('mjx-container').length,
        mathErrors: cell.querySelectorAll('mjx-merror').length,
        rawMath,
    };
})
"""

# What an output area shows, to tell when a widget has redrawn it: every image and every text.
OUTPUT_SIGNATURE_JS = """
cell => [...cell.querySelectorAll('.jp-Cell-outputArea img')].map(img => img.src).join('|')
    + '#' + [...cell.querySelectorAll('.jp-Cell-outputArea .widget-output')]
        .map(out => out.textContent).join('|')
"""
OUTPUT_REDRAWN_JS = """
([cell, before]) => {
    const images = [...cell.querySelectorAll('.jp-Cell-outputArea img')];
    const now = images.map(img => img.src).join('|') + '#'
        + [...cell.querySelectorAll('.jp-Cell-outputArea .widget-output')]
            .map(out => out.textContent).join('|');
    return now !== before && now !== '#'
        && images.every(img => img.complete && img.naturalWidth > 0);
}
"""


VIEWPORT = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 60_000


def new_context(browser: Browser) -> BrowserContext:
    """A browser profile of its own (cookies, cache), with the tests' viewport and time limit."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def new_page(context: BrowserContext) -> tuple[Page, list[str]]:
    """A new page, and the list where its problems are recorded: console errors, uncaught
    exceptions, and responses with an HTTP status of 400 or more.

    JupyterLab's toasts (such as its offer of news) are closed whenever one is in the way of
    an action, and none is answered. The close button gets a click event rather than a mouse
    click, which would also close an open menu.
    """
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda response: problems.append(
        f"HTTP {response.status}: {response.request.method} {response.url}"
    ) if response.status >= 400 else None)
    page.add_locator_handler(page.get_by_title("Hide notification").first,
                             lambda close: close.dispatch_event("click"))
    return page, problems


class NotebookPage:
    """`path` (relative to the server's root) open in its own JupyterLab workspace on `page`."""

    def __init__(self, page: Page, server, path: str):
        self.page = page
        self.server = server
        self.path = path
        self.workspace = re.sub(r"\W", "-", path)

    def open(self, cell_count: int) -> NotebookPage:
        """Load JupyterLab on this notebook alone (a fresh workspace); wait until all its
        `cell_count` cells are shown and its kernel has started and is idle."""
        self.page.goto(self.server.url(f"lab/workspaces/{self.workspace}/tree/{self.path}?reset"))
        self.page.wait_for_function(
            "count => document.querySelectorAll('.jp-Notebook .jp-Cell').length === count",
            arg=cell_count,
            timeout=KERNEL_TIMEOUT_MS,
            polling=POLL_MS,
        )
        self.wait_for_kernel_idle()
        return self

    def wait_for_kernel_idle(self) -> None:
        """Wait until the status bar names the notebook's kernel and says it is idle (before the
        kernel has started it says "No Kernel | Initializing", or "... | Starting")."""
        status = self.page.get_by_title(f"Change kernel for {self.path.rsplit('/', 1)[-1]}")
        expect(status).to_have_text(re.compile(r"^(?!No Kernel).+ \| Idle$"),
                                    timeout=KERNEL_TIMEOUT_MS)

    def menu(self, *names: str) -> None:
        """Click through the menu bar: menu("Run", "Run All Cells")."""
        for name in names:
            self.page.get_by_role("menuitem", name=name, exact=True).click()

    def run_all(self) -> None:
        """Run > Run All Cells, then wait until JupyterLab reports the run over."""
        self.start_run_all()
        self.wait_for_run_all()

    def start_run_all(self) -> None:
        """Run > Run All Cells (the kernel runs on while other pages are driven)."""
        self.menu("Run", "Run All Cells")

    def wait_for_run_all(self) -> None:
        """Wait until JupyterLab reports the run over."""
        self.page.wait_for_function(
            f"""(finished) => {{
                const indicator = document.querySelector('{INDICATOR}');
                return indicator.dataset.status === 'idle'
                    && new RegExp(finished).test(indicator.textContent);
            }}""",
            arg=RUN_FINISHED.pattern,
            timeout=RUN_ALL_TIMEOUT_MS,
            polling=POLL_MS,
        )

    def report(self) -> list[dict]:
        """What every cell shows now, in notebook order (see REPORT_JS)."""
        return self.page.evaluate(REPORT_JS)

    def execution_prompts(self) -> list[str]:
        """Every cell's input prompt, in notebook order ("[3]:" once run, "" for Markdown).

        A cell whose code is collapsed (quiz cells start so) shows no prompt: its code is
        expanded for the reading by a click on its placeholder, and collapsed again after.
        """
        collapsed = self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((cell, i) =>"
            " cell.classList.contains('jp-CodeCell') && cell.querySelector('.jp-InputPlaceholder')"
            " ? [i] : [])"
        )
        for index in collapsed:
            self.cells.nth(index).locator(".jp-InputPlaceholder").click()
            self.cells.nth(index).locator(".jp-InputArea-prompt").wait_for()
        prompts = self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell =>"
            " (cell.querySelector('.jp-InputArea-prompt') || {textContent: ''}).textContent.trim())"
        )
        for index in collapsed:
            self.cells.nth(index).locator(".jp-InputCollapser").click()
            self.cells.nth(index).locator(".jp-InputPlaceholder").wait_for()
        return prompts

    @property
    def cells(self) -> Locator:
        return self.page.locator(".jp-Notebook .jp-Cell")

    def cell_index(self, cell: Locator) -> int:
        """The place of `cell` in the notebook (the same as in the .ipynb file)."""
        return cell.evaluate(
            "cell => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].indexOf(cell)"
        )

    def cell_with(self, selector: str) -> Locator:
        """The first cell that holds an element matching `selector`."""
        return self.cells.filter(has=self.page.locator(selector)).first

    def code_cell_containing(self, text: str) -> Locator:
        """The first code cell whose source contains `text`."""
        editor = self.page.locator(".jp-InputArea-editor", has_text=text)
        return self.page.locator(".jp-Notebook .jp-CodeCell").filter(has=editor).first

    def prompt(self, cell: Locator) -> str:
        return cell.locator(".jp-InputArea-prompt").inner_text().strip()

    def replace_source(self, cell: Locator, source: str) -> None:
        """Select the cell's code and type `source` over it (inserted as typed text, so the
        editor does not re-indent it)."""
        cell.locator(".cm-content").click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(source)

    def run_cell(self, cell: Locator) -> None:
        """Run `cell` (Shift+Enter in its editor) and wait until its prompt shows the new count."""
        before = self.prompt(cell)
        cell.locator(".cm-content").click()
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function(
            "([prompt, before]) => /\\[\\d+\\]/.test(prompt.textContent)"
            " && prompt.textContent.trim() !== before",
            arg=[cell.locator(".jp-InputArea-prompt").element_handle(), before],
            timeout=KERNEL_TIMEOUT_MS,
            polling=POLL_MS,
        )

    def output_signature(self, cell: Locator) -> str:
        return cell.evaluate(OUTPUT_SIGNATURE_JS)

    def wait_for_redraw(self, cell: Locator, before: str) -> None:
        """Wait until the cell's outputs differ from `before`, with every image loaded."""
        self.page.wait_for_function(
            OUTPUT_REDRAWN_JS, arg=[cell.element_handle(), before], timeout=KERNEL_TIMEOUT_MS,
            polling=POLL_MS,
        )
