"""Run a grading plan in a sandboxed kernel and note what every step did.

Steps run in notebook order. A chunk that times out is interrupted; a kernel that dies or ignores
the interrupt is replaced by a fresh one, into which the setup and answer cells that had run
are replayed, so a crash in one exercise costs only that exercise. The whole notebook has a
wall-clock budget; steps left when it runs out are marked "skipped".

>>> run = run_plan(read_plan(source), answers={}, limits=Limits())  # doctest: +SKIP
>>> run.outcomes["linear_test"].status                              # doctest: +SKIP
'ok'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grader.kernel import HiddenBudget, Outcome, SandboxedKernel
from autograder.grader.plan import Plan
from autograder.grader.sandbox import Limits

MAX_RESTARTS = 3


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


class _Session:
    """A kernel plus the program replayed into a replacement kernel after a crash."""

    def __init__(self, limits: Limits, files: tuple[Path, ...], run: KernelRun):
        self.limits, self.files, self.run_log = limits, files, run
        self.program: list[str] = []
        self.restarts = 0
        self.budget = HiddenBudget(limits.max_hidden_kb * 1024)  # for the whole notebook
        self.kernel = SandboxedKernel(limits, files, self.budget)
        self.kernel.start()

    def run(self, label: str, code: str, deadline: float, keep: bool) -> Outcome:
        if not self.kernel.alive() and not self._restart(deadline):
            return Outcome("skipped", error="the kernel could not be restarted")
        budget = min(self.limits.cell_timeout, deadline - time.monotonic())
        if budget <= 0:
            self.run_log.timed_out = True
            return Outcome("skipped", error="the notebook ran out of time")
        outcome = self.kernel.execute(code, timeout=budget)
        if outcome.status == "timeout":
            self.run_log.timed_out = True
            self.run_log.incidents.append(f"{label} timed out after {budget:.0f} s")
        elif outcome.status == "died":
            self.run_log.crashed = True
            self.run_log.incidents.append(f"the kernel died while running {label}")
        elif keep:
            self.program.append(code)
        return outcome

    def _restart(self, deadline: float) -> bool:
        self.kernel.stop()
        if self.restarts >= MAX_RESTARTS:
            return False
        self.restarts += 1
        self.kernel = SandboxedKernel(self.limits, self.files, self.budget)
        self.kernel.start()
        for code in self.program:
            budget = min(self.limits.cell_timeout, deadline - time.monotonic())
            if budget <= 0:
                return False
            # a replayed cell that now times out has stopped the kernel too: give up
            if self.kernel.execute(code, timeout=budget).status not in ("ok", "error"):
                return False
        return True

    def close(self) -> None:
        self.kernel.stop()


def run_plan(plan: Plan, answers: dict[str, str] | None, limits: Limits) -> KernelRun:
    """Run setup, answer and test steps of `plan` with the given answers (None: the solutions)."""
    code_for = answer_code(plan, answers)
    run = KernelRun()
    deadline = time.monotonic() + limits.notebook_timeout
    session = _Session(limits, plan.files, run)
    try:
        for step in plan.steps:
            if step.kind == "test":
                visible = session.run(f"test cell {step.grade_id}", step.code, deadline, False)
                run.outcomes[step.grade_id] = visible
                if visible.status == "ok" and step.hidden_code:
                    label = f"the hidden tests of {step.grade_id}"
                    run.hidden[step.grade_id] = session.run(
                        label, step.hidden_code, deadline, False
                    )
            else:
                code = step.code if step.kind == "setup" else code_for[step.grade_id]
                label = f"{step.kind} cell {step.grade_id}"
                run.outcomes[step.grade_id] = session.run(label, code, deadline, True)
    finally:
        session.close()
    return run
