"""Start JupyterLab for a learner or for an instructor (`make course`, `make instructor`).

- learner: the learner's own copies of the self-paced notebooks, in the git-ignored working
  folder work/ of the checkout. The first start copies every chapter there; later starts never
  write over a file of the learner's: a chapter the course changed since it was last handed out
  is offered beside the learner's copy, as "<chapter> (updated).ipynb", and the log says so. The
  repository's notebooks/ stay as the course ships them whatever the learner does. The
  instructor's tools are left out: nbgrader's lab extension (Create Assignment, Formgrader,
  Assignments) and its server extensions are disabled for this server only, by the Jupyter
  config folder jupyter/learner (put first on JUPYTER_CONFIG_PATH), which also turns off
  JupyterLab's news announcements; nothing is written to the user's or the environment's settings.
- instructor: the course folder (--course, else $LLMF_COURSE, else the checkout's course/), with
  nbgrader's tools, and this Python's scripts folder (.venv/bin) first on PATH: nbgrader runs the
  `alembic` command when Formgrader first opens the gradebook, and without it the first load fails.

Each role keeps its JupyterLab workspaces (the open tabs) in a folder of its own, so neither
lab reopens the other's tabs.

    python -m autograder.lab learner [jupyter lab options...]
    python -m autograder.lab instructor [--course DIR] [jupyter lab options...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from autograder.course_folder import COURSE_ENV, Course, default_course_root

REPOSITORY = Path(__file__).resolve().parents[1]
LEARNER_CONFIG = REPOSITORY / "jupyter" / "learner"
ROLES = ("learner", "instructor")
WORK = "work"  # the learner's working folder in a checkout (git-ignored)
# in the working folder: {notebook file name: sha256 of the course's edition last handed out}
HANDED_OUT = ".handed-out.json"
WORKSPACES_ENV = "JUPYTERLAB_WORKSPACES_DIR"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _offer_name(work: Path, notebook: str) -> Path:
    """The first free name for an updated chapter beside the learner's copy."""
    stem = Path(notebook).stem
    candidates = [f"{stem} (updated).ipynb"] + [f"{stem} (updated {n}).ipynb"
                                                 for n in range(2, 1000)]
    for name in candidates:
        if not (work / name).exists():
            return work / name
    raise FileExistsError(f"{work} already holds 999 updated copies of {notebook}")


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data`; never replaces a file (FileExistsError if there is one)."""
    with open(path, "xb") as handle:
        handle.write(data)


def prepare_working_copy(notebooks: Path, work: Path) -> list[str]:
    """Hand the chapters in `notebooks` out to the working folder `work`; return what was done,
    one sentence each.

    A chapter not in `work` is copied there. A chapter whose edition in `notebooks` is not the
    one last handed out (nor what the learner's file of that name holds) is written beside the
    learner's file under a new name ("ch2_x (updated).ipynb"). No file already in `work` is ever
    written over.
    """
    work.mkdir(parents=True, exist_ok=True)
    record_path = work / HANDED_OUT
    try:
        handed_out = json.loads(record_path.read_text())
    except (OSError, ValueError):
        handed_out = {}
    if not isinstance(handed_out, dict):
        handed_out = {}
    done = []
    for chapter in sorted(notebooks.glob("*.ipynb")):
        data, digest = chapter.read_bytes(), _digest(chapter)
        mine = work / chapter.name
        if not mine.exists():
            _write_new(mine, data)
            done.append(f"copied {chapter.name} to {work}")
        elif handed_out.get(chapter.name) != digest and _digest(mine) != digest:
            offered = _offer_name(work, chapter.name)
            _write_new(offered, data)
            done.append(f"the course updated {chapter.name}: the new edition is "
                        f"{offered.name}, beside your own {chapter.name} (left as it is)")
        handed_out[chapter.name] = digest
    record_path.write_text(json.dumps(handed_out, indent=1, sort_keys=True) + "\n")
    return done


def workspaces_folder(role: str, environ: dict) -> Path:
    """Where JupyterLab keeps `role`'s workspaces: a folder of its own under the one
    $JUPYTERLAB_WORKSPACES_DIR names, else under JupyterLab's default (~/.jupyter/lab)."""
    from jupyter_core.paths import jupyter_config_dir

    base = environ.get(WORKSPACES_ENV) or Path(jupyter_config_dir()) / "lab" / "workspaces"
    return Path(base) / f"llm-foundations-{role}"


def lab_command(role: str, folder: Path, *, extra: list[str] = (), environ: dict | None = None):
    """(argv, environment, working folder) of JupyterLab for `role` ("learner"/"instructor")
    serving `folder` (the learner's working folder, or the course folder)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    scripts = Path(sys.executable).parent
    env = dict(os.environ if environ is None else environ)
    argv = [str(scripts / "jupyter-lab"), *extra]
    env[WORKSPACES_ENV] = str(workspaces_folder(role, env))
    if role == "learner":
        paths = [str(LEARNER_CONFIG), *filter(None, env.get("JUPYTER_CONFIG_PATH", "").split(
            os.pathsep))]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    else:
        env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    return argv, env, folder


def instructor_course(here: Path, option: str | None) -> Path:
    """The course folder `make instructor` serves: --course, else $LLMF_COURSE, else the course/
    of the checkout `make` runs in, else the repository's."""
    if option:
        return Path(option)
    if os.environ.get(COURSE_ENV) or not (here / "course" / "source").is_dir():
        return default_course_root()
    return here / "course"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.lab", allow_abbrev=False, description=__doc__.splitlines()[0],
        epilog="Other options go to `jupyter lab`.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--course", help=f"instructor: the course folder (default: ${COURSE_ENV} "
                                         "if set, else the checkout's course/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    # make runs in the Makefile's folder, or in the one given with -C, as the browser tests do:
    # serve that checkout's folders
    here = Path.cwd()
    if args.role == "learner":
        notebooks = here / "notebooks" if (here / "notebooks").is_dir() else (
            REPOSITORY / "notebooks")
        folder = notebooks.parent / WORK
        for sentence in prepare_working_copy(notebooks, folder):
            print(f"[llm-foundations] {sentence}", file=sys.stderr)
        print(f"[llm-foundations] your notebooks are in {folder}", file=sys.stderr)
    else:
        try:
            folder = Course(instructor_course(here, args.course)).root
        except FileNotFoundError as error:
            print(f"make instructor: error: {error}; name your course folder with "
                  f"{COURSE_ENV}=DIR (or --course DIR)", file=sys.stderr)
            return 2
        print(f"[llm-foundations] serving the course folder {folder.resolve()}", file=sys.stderr)
    command, env, cwd = lab_command(args.role, folder, extra=extra)
    # JupyterLab takes this process's place: a signal that stops `make course` (Ctrl-C, an
    # editor's stop button, `kill`) reaches it, never leaving it serving as an orphan
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cwd)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
