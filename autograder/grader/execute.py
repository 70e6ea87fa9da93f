"""Run a grading plan in a sandboxed kernel and note what every step did.

Steps run in notebook order, as Run All runs them. The grader puts back what its own cells
rely on (autograder.in_kernel.names): before each setup and test cell the objects the setup
cells bound to names no answer binds, the interpreter's state as the setup cells left it
(modules, built-ins, streams, working folder, warning filters, ...) with no name hiding a
built-in the grader's cells use, and before every chunk IPython's transformers as the kernel
started with them, so a student's rebinding of `np` or `abs`, a replaced module or a failing
input transformer costs nothing but itself. A student's cells run statement by statement. A chunk
that times out is interrupted; a kernel that dies or ignores the interrupt is replaced by a
fresh one, into which the setup and answer cells that had run are replayed, so a crash in one
exercise costs only that exercise. The whole notebook has a wall-clock budget; steps left
when it runs out are marked "skipped".

>>> run = run_plan(read_plan(source), answers={}, limits=Limits())  # doctest: +SKIP
>>> run.outcomes["linear_test"].status                              # doctest: +SKIP
'ok'
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grader import syntax
from autograder.grader.course_lib_view import course_lib_view
from autograder.grader.kernel import HiddenBudget, Outcome, SandboxedKernel
from autograder.grader.plan import MAX_PARSED_CHARS, Plan, Step, bound_names, loaded_names
from autograder.grader.pythons import KernelPython
from autograder.grader.sandbox import Limits

FORBIDDEN_CALL = "ForbiddenCall"  # autograder.in_kernel.ForbiddenCall, as the kernel names it

MAX_RESTARTS = 3
NAMES = "__import__('autograder.in_kernel.names', fromlist=['names'])"  # in_kernel/names.py
ERRORS = "__import__('autograder.in_kernel.errors', fromlist=['errors'])"  # in_kernel/errors.py
MESSAGES = "__import__('autograder.in_kernel.messages', fromlist=['messages'])"  # its messages
SNAPSHOT = f"{NAMES}.snapshot() and {ERRORS}.install() and {MESSAGES}.install()"  # at start
RESET_HOOKS = f"{NAMES}.reset_hooks()"  # before a student's
STREAMS = f"{NAMES}.put_back_streams()"  # after every chunk


@dataclass
class KernelRun:
    """What one run of a plan did: per answer/setup step one Outcome, per test step two (visible
    checks in `outcomes`, hidden block in `hidden`), and the incidents on the way."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    hidden: dict[str, Outcome] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)  # timeouts and crashes, in order
    timed_out: bool = False
    crashed: bool = False


def answer_code(plan: Plan, answers: dict[str, str] | None) -> dict[str, str]:
    """The code to run for each answer cell: the student's, or the source solution if None."""
    steps = [step for step in plan.steps if step.kind == "answer"]
    if answers is None:
        return {step.grade_id: step.code for step in steps}
    return {step.grade_id: answers.get(step.grade_id, "") for step in steps}


def statements(code: str, budget: syntax.CompileBudget | None = None) -> list[str]:
    r"""A student's cell cut into its top-level statements, each with the comments and decorators
    above it (the whole cell if it does not parse as Python, it then fails as a whole, or if it
    is longer than MAX_PARSED_CHARS, or once the notebook's `budget` of parsing is spent). Cut
    only where the parser ends a line (`syntax.source_lines`): the statements joined are the
    cell.

    >>> statements("import numpy as np\n\n@f\ndef g():\n    pass\nraise ValueError")
    ['import numpy as np\n\n', '@f\ndef g():\n    pass\n', 'raise ValueError']
    """
    if len(code) > MAX_PARSED_CHARS or not (budget or syntax.CompileBudget()).take(code):
        return [code]
    try:
        body = syntax.parse(code).body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return [code]
    starts = sorted({min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
                     for node in body}) or [1]
    starts[0] = 1  # the comments above the first statement go with it
    lines = syntax.source_lines(code)
    return ["".join(lines[start - 1:end - 1])
            for start, end in zip(starts, [*starts[1:], len(lines) + 1], strict=True)]


def restore_code(plan: Plan) -> str:
    """The expression run before the grader's own cells (setup and tests): it puts back what
    they rely on, and unbinds the names that hide a built-in they use (`abs = 3` in an answer)
    unless the setup or the instructor's solutions bind that name themselves (see
    autograder.in_kernel.names)."""
    bound = {name for step in plan.steps if step.kind != "test" for name in bound_names(step.code)}
    used = {name for step in plan.steps if step.kind != "answer"
            for code in (step.code, step.hidden_code) for name in loaded_names(code)}
    shadowed = sorted(name for name in used - bound if hasattr(builtins, name))
    return f"{NAMES}.restore(globals(), {shadowed!r})"


def kept_names(plan: Plan, step: Step) -> str:
    """The expression that keeps what a setup step binds (but no answer's solution binds: those
    names are the student's), run after it (see autograder.in_kernel.names)."""
    answers = {name for s in plan.steps if s.kind == "answer" for name in bound_names(s.code)}
    names = [name for name in bound_names(step.code) if name not in answers]
    return f"{NAMES}.keep(globals(), {names!r})"


class _Session:
    """A kernel plus the program replayed into a replacement kernel after a crash."""

    def __init__(self, limits: Limits, files: tuple[Path, ...], run: KernelRun,
                 course_lib: Path | None, python: KernelPython | None):
        self.limits, self.files, self.run_log = limits, files, run
        self.course_lib, self.python = course_lib, python
        self.program: list[tuple[str, str, str]] = []  # (before, code, after) expressions
        self.restarts = 0
        self.budget = HiddenBudget(limits.max_hidden_kb * 1024)  # for the whole notebook
        self.parsing = syntax.CompileBudget()  # the cells split into statements, in all
        self.kernel = self._start()

    def _start(self) -> SandboxedKernel:
        kernel = SandboxedKernel(self.limits, self.files, self.course_lib, self.budget,
                                 self.python)
        kernel.start()
        kernel.execute("", self.limits.cell_timeout, after=SNAPSHOT)  # before any student code
        return kernel

    def _execute(self, before: str, code: str, after: str, budget: float) -> Outcome:
        """Evaluate `before`, run `code`, evaluate `after` and put the standard streams back
        (in `budget` seconds in all)."""
        started = time.monotonic()
        self.kernel.execute("", budget, after=before)
        budget -= time.monotonic() - started
        if budget <= 0:
            return Outcome("timeout", error="putting back the grader's names timed out")
        return self.kernel.execute(code, timeout=budget,
                                   after=f"({after}) and {STREAMS}" if after else STREAMS)

    def run(self, label: str, code: str, deadline: float, keep: bool, *, before: str,
            after: str = "", split: bool = False) -> Outcome:
        """Run one cell, after the expression `before` (`restore_code` or RESET_HOOKS) and before
        `after`; `split`: statement by statement, so that what a statement that runs away or
        kills the kernel leaves undone costs only that statement (the definitions before it
        are replayed into the next kernel). Stop at the first error, as Run All. Once the
        notebook is out of time a cell is skipped as it comes, not even cut into statements (a
        parse: a notebook's worth of them took ten times its time limit)."""
        if deadline <= time.monotonic():
            return self._out_of_time()
        outcome = Outcome("ok")
        for chunk in statements(code, self.parsing) if split else [code]:
            outcome = self._run_chunk(label, (before, chunk, after), deadline, keep)
            if outcome.status != "ok":
                break
        return outcome

    def _run_chunk(self, label: str, chunk: tuple[str, str, str], deadline: float,
                   keep: bool) -> Outcome:
        if not self.kernel.alive() and not self._restart(deadline):
            return Outcome("skipped", error="the kernel could not be restarted")
        budget = min(self.limits.cell_timeout, deadline - time.monotonic())
        if budget <= 0:
            return self._out_of_time()
        outcome = self._execute(*chunk, budget)
        if outcome.status == "timeout":
            self.run_log.timed_out = True
            self.run_log.incidents.append(f"{label} timed out after {budget:.0f} s")
        elif outcome.status == "died":
            self.run_log.crashed = True
            self.run_log.incidents.append(f"the kernel died while running {label}")
        elif keep:
            self.program.append(chunk)
        return outcome

    def _out_of_time(self) -> Outcome:
        """The outcome of what comes once the notebook's time is up (which times it out)."""
        self.run_log.timed_out = True
        return Outcome("skipped", error="the notebook ran out of time")

    def _restart(self, deadline: float) -> bool:
        self.kernel.stop()
        if self.restarts >= MAX_RESTARTS:
            return False
        self.restarts += 1
        self.kernel = self._start()
        for chunk in self.program:
            budget = min(self.limits.cell_timeout, deadline - time.monotonic())
            if budget <= 0:
                return False
            # a replayed cell that now times out has stopped the kernel too: give up
            if self._execute(*chunk, budget).status not in ("ok", "error"):
                return False
        return True

    def close(self) -> None:
        self.kernel.stop()


def run_plan(plan: Plan, answers: dict[str, str] | None, limits: Limits,
             added: list[tuple[str, str]] = (), apart: frozenset[str] = frozenset(),
             python: KernelPython | None = None) -> KernelRun:
    """Run setup, answer and test steps of `plan` with the given answers (None: the solutions),
    on `python` (the grader's own if None; see autograder.grader.pythons).

    added: code cells the student added, (the answer or test cell each follows, or "", code);
    each runs right after that cell (those following none, before the first answer or test),
    like the student's answers; their own errors cost nothing.
    apart: test cells graded in a kernel of their own, whose course_lib lacks only what that
    test forbids (their setup needs a function another exercise forbids); every other test
    runs in one kernel whose course_lib lacks what any of them forbids.
    """
    code_for = answer_code(plan, answers)
    run = KernelRun()
    deadline = time.monotonic() + limits.notebook_timeout
    together = [step for step in plan.tests if step.grade_id not in apart]
    groups = [(together, [c for s in together for call in s.hidden_calls for c in call.forbid])]
    groups += [([step], [c for call in step.hidden_calls for c in call.forbid])
               for step in plan.tests if step.grade_id in apart]
    for tests, forbidden in groups:
        if tests or not apart:
            _run_group(plan, code_for, added, limits, run, deadline, tests, frozenset(forbidden),
                       python)
    return run


def _run_group(plan, code_for, added, limits, run: KernelRun, deadline: float, tests: list,
               forbidden: frozenset[str], python: KernelPython | None) -> None:
    """Run setup, answers, added cells and `tests` in one kernel (in notebook order)."""
    after: dict[str, list[str]] = {}
    for anchor, code in added:
        after.setdefault(anchor, []).append(code)
    wanted = {step.grade_id for step in tests}
    last = max((i for i, step in enumerate(plan.steps) if step.grade_id in wanted), default=-1)
    restore = restore_code(plan)
    session = _Session(limits, plan.files, run, course_lib_view(forbidden), python)
    try:
        for step in plan.steps[: last + 1]:
            if step.kind != "setup":
                for number, code in enumerate(after.pop("", []), start=1):
                    session.run(f"the cell you added before any exercise ({number})", code,
                                deadline, True, before=RESET_HOOKS, split=True)
            if step.kind == "test" and step.grade_id in wanted:
                if step.choice_variables:
                    session.run("reading quiz answers", choice_code(step), deadline, True,
                                before=restore)
                visible = session.run(f"test cell {step.grade_id}", step.code, deadline, False,
                                      before=restore)
                run.outcomes[step.grade_id] = visible
                if step.hidden_code and visible.status in ("ok", "error"):  # judge decides
                    label = f"the hidden tests of {step.grade_id}"
                    run.hidden[step.grade_id] = session.run(  # the same cell: no names put back
                        label, step.hidden_code, deadline, False, before=RESET_HOOKS)
            elif step.kind == "setup":
                outcome = session.run(f"setup cell {step.grade_id}", step.code, deadline, True,
                                      before=restore, after=kept_names(plan, step))
                run.outcomes.setdefault(step.grade_id, outcome)
            elif step.kind == "answer":
                outcome = session.run(f"answer cell {step.grade_id}", code_for[step.grade_id],
                                      deadline, True, before=RESET_HOOKS, split=True)
                run.outcomes.setdefault(step.grade_id, outcome)
            for number, code in enumerate(after.pop(step.grade_id, []), start=1):
                session.run(f"the cell you added after {step.grade_id} ({number})", code,
                            deadline, True, before=RESET_HOOKS, split=True)
    finally:
        session.close()


def stopped_by_forbidden(outcome: Outcome) -> bool:
    """True if a chunk stopped on a course_lib function taken away while grading (an
    instructor's visible check may compare with it; the hidden values still decide)."""
    return outcome.status == "error" and outcome.error.startswith(f"{FORBIDDEN_CALL}:")


def choice_code(step: Step) -> str:
    """Code that reads each quiz answer of a test cell as a choice (course_lib.quiz.as_choice)."""
    lines = ["from course_lib.quiz import as_choice as _llmf_as_choice"]
    for name in step.choice_variables:
        lines.append(f"if {name!r} in globals(): {name} = _llmf_as_choice({name})")
    return "\n".join(lines)
