"""Result records: the grade of one notebook, what grading produces and reporting reads.

Reporting (gradebook, export, feedback) depends on this module and on the course folder's
layout only, never on the grading machinery.

    result = GradeResult.from_dict(json.loads(path.read_text()))
    result.status     # a Status
    result.reason     # why, in words ("" when simply graded)
    result.scores     # {grade_id: (score or None if awaiting manual grading, max_points)}
    result.messages   # {grade_id: the grader's comment, never hidden inputs}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from autograder.files import atomic_write


class Status(str, Enum):
    """What happened to one notebook (a str, so it reads and writes as its value)."""

    GRADED = "graded"  # everything scored, automatic and manual
    NEEDS_MANUAL_GRADING = "needs_manual_grading"  # written answers wait for the instructor
    MISSING = "missing"  # nothing submitted, or an empty file
    CRASHED = "crashed"  # the kernel died, the file is unreadable, or the grader failed on it
    TIMED_OUT = "timed_out"  # a cell or the whole notebook ran out of time
    TAMPERED = "tampered"  # a locked cell was edited or deleted
    WRONG_VARIANT = "wrong_variant"  # another student's variant, or none, handed in as theirs
    UNGRADED = "ungraded"  # (reports only) submitted but not graded yet, or changed since

    __str__ = str.__str__


# the order in which a notebook's status decides its assignment's: the worst comes first
SEVERITY = (Status.TAMPERED, Status.WRONG_VARIANT, Status.CRASHED, Status.TIMED_OUT,
            Status.UNGRADED, Status.MISSING, Status.NEEDS_MANUAL_GRADING, Status.GRADED)
# statuses an instructor must review (formgrader flags them)
FLAGGED = (Status.TAMPERED, Status.WRONG_VARIANT, Status.CRASHED, Status.TIMED_OUT)
# how the reason of a result starts when the grader itself failed on the notebook
GRADER_ERROR = "grader error"


def grader_error(error: BaseException, stage: str) -> str:
    """The reason recorded when the grader fails on a notebook while doing `stage`."""
    return f"{GRADER_ERROR} while {stage}: {type(error).__name__}: {error}"[:300]


@dataclass
class GradeResult:
    """The grade of one notebook; `to_dict`/`from_dict` give its JSON form."""

    notebook: str
    status: Status
    reason: str
    scores: dict[str, tuple[float | None, float]]
    messages: dict[str, str] = field(default_factory=dict)
    failed_checks: dict[str, str] = field(default_factory=dict)  # grade_id -> visible error
    submission_sha256: str = ""
    source_sha256: str = ""
    to_review: list[str] = field(default_factory=list)  # what the instructor should look at
    python: str = ""  # the version of the Python the grader's kernel ran ("" if none ran)
    python_note: str = ""  # why it is not the Python the notebook was saved with ("" if it is)

    @property
    def python_shown(self) -> str:
        """The Python the kernel ran, as the export and the pages name it ("" if none ran)."""
        return f"{self.python} ({self.python_note})" if self.python_note else self.python

    @property
    def flagged(self) -> bool:
        """True if formgrader should flag the notebook for the instructor's attention."""
        return self.status in FLAGGED or bool(self.to_review)

    @property
    def score(self) -> float:
        """Total points awarded so far (manual answers not yet graded count as 0)."""
        return sum(score or 0.0 for score, _ in self.scores.values())

    @property
    def max_score(self) -> float:
        return sum(points for _, points in self.scores.values())

    @property
    def grader_failed(self) -> bool:
        """True if the grader itself failed on this notebook (the reason names the error)."""
        return self.status == Status.CRASHED and self.reason.startswith(GRADER_ERROR)

    @classmethod
    def zero(cls, notebook: str, max_points: dict[str, float], status: Status, reason: str,
             submission_sha256: str = "", source_sha256: str = "") -> GradeResult:
        """A result that awards nothing (missing, unreadable or ungradable submissions)."""
        scores = {grade_id: (0.0, points) for grade_id, points in max_points.items()}
        return cls(notebook, Status(status), reason, scores, {}, {}, submission_sha256,
                   source_sha256)

    def to_dict(self) -> dict:
        return asdict(self) | {"status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict) -> GradeResult:
        data = dict(data)
        data["status"] = Status(data["status"])
        data["scores"] = {k: (s, p) for k, (s, p) in data["scores"].items()}
        return cls(**data)


def save_result(result: GradeResult, path: Path) -> None:
    """Write a result file (JSON, atomically)."""
    atomic_write(path, json.dumps(result.to_dict(), indent=1))


def load_result(path: Path) -> GradeResult:
    return GradeResult.from_dict(json.loads(Path(path).read_text()))


def read_result(path: Path) -> GradeResult | None:
    """The result in a result file, or None if there is none or it cannot be read (then the
    notebook counts as not graded, never as graded with a score nobody can check)."""
    try:
        return load_result(path)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def is_current(result: GradeResult, submission_digest: str, source_digest: str) -> bool:
    """True if `result` was computed from the submitted file as it is now (its digest, as
    grader.submission.submitted_digest reads it) and from this source."""
    return result.source_sha256 == source_digest and result.submission_sha256 == submission_digest
