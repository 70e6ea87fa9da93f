"""Start JupyterLab for a learner or for an instructor (`make course`, `make instructor`).

- learner: the self-paced notebooks (notebooks/), without the instructor's tools: nbgrader's
  lab extension (Create Assignment, Formgrader, Assignments) and its server extensions are
  disabled for this server only, by the Jupyter config folder jupyter/learner (put first on
  JUPYTER_CONFIG_PATH); nothing is written to the user's or the environment's settings.
- instructor: the course folder, with nbgrader's tools, and this Python's scripts folder
  (.venv/bin) first on PATH: nbgrader runs the `alembic` command when Formgrader first opens
  the gradebook, and without it the first load fails.

    python -m autograder.lab learner [jupyter lab options...]
    python -m autograder.lab instructor [jupyter lab options...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autograder.course_folder import default_course_root

REPOSITORY = Path(__file__).resolve().parents[1]
LEARNER_CONFIG = REPOSITORY / "jupyter" / "learner"
ROLES = ("learner", "instructor")


def lab_command(role: str, *, course_root: Path | None = None, notebooks: Path | None = None,
                extra: list[str] = (), environ: dict | None = None):
    """(argv, environment, working folder) of JupyterLab for `role` ("learner"/"instructor")."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    scripts = Path(sys.executable).parent
    env = dict(os.environ if environ is None else environ)
    argv = [str(scripts / "jupyter-lab"), *extra]
    if role == "learner":
        paths = [str(LEARNER_CONFIG), *filter(None, env.get("JUPYTER_CONFIG_PATH", "").split(
            os.pathsep))]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
        return argv, env, notebooks or REPOSITORY / "notebooks"
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    return argv, env, course_root or default_course_root()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ROLES:
        print(f"usage: python -m autograder.lab {{{'|'.join(ROLES)}}} [jupyter lab options]",
              file=sys.stderr)
        return 2
    # Serve the folders of the working folder's checkout (make runs in the Makefile's folder, or
    # in the one given with -C, as the browser tests do), else the repository's own.
    here = Path.cwd()
    command, env, cwd = lab_command(
        argv[0], extra=argv[1:],
        notebooks=here / "notebooks" if (here / "notebooks").is_dir() else None,
        course_root=here / "course" if (here / "course" / "source").is_dir() else None,
    )
    return subprocess.call(command, env=env, cwd=cwd)


if __name__ == "__main__":
    sys.exit(main())
