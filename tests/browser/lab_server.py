"""JupyterLab servers for the browser tests, started as `make course` and `make instructor` do.

The server is the Makefile's own recipe (`make <target> LAB_ARGS=...`, LAB_ARGS adding a free port,
a token and no browser window), run in a fresh checkout of the folders the target serves, as a
fresh clone has them (a git repository of its own, with the repository's .gitignore, so a test can
ask git whether anything tracked changed): the learner's server makes the learner's working copy
there, and the instructor's server meets a course folder without a gradebook, as an instructor
does the first time (or the course folder LLMF_COURSE names, given in `environ`).

Example:
    with LabServer("course", workdir) as server:
        page.goto(server.url("lab/tree/ch1_base_models.ipynb"))
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# The folders each Makefile target serves (copied from what git tracks, so no local state).
SERVED = {"course": ["notebooks", ".gitignore"], "instructor": ["course", ".gitignore"]}
# the Makefile's install steps, which a test run (already in the installed environment) skips
INSTALL_STAMPS = (".venv/.course-installed", ".venv/.instructor-installed", ".venv/.installed")
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30


def copy_tracked(folder: str, destination: Path) -> None:
    """Copy the files git tracks under `folder` (relative to the repository) into `destination`."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--", folder],
        check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    files = [name for name in listed if name]
    if not files:
        raise RuntimeError(f"git tracks no files under {folder!r} in {ROOT}")
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every live process below `pid`, as (pid, start time): kernels start in sessions of their
    own, so a signal to the server's process group would miss them."""
    parents, started = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the command name (field 2) may hold spaces: the other fields follow its last ')'
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
        started[int(entry.name)] = fields[19]
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append((child, started[child]))
            todo.append(child)
    return found


def kill_if_unchanged(pid: int, start_time: str) -> None:
    """SIGKILL `pid` unless it has exited (its number reused by a process started later)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[19] == start_time:
            os.kill(pid, signal.SIGKILL)
    except (OSError, IndexError):
        pass


class LabServer:
    """`make <target>` serving a fresh copy of the target's folders under `workdir`.

    target: "course" or "instructor"; the server log goes to workdir / f"{target}-server.log";
    environ: variables added to the server's environment (LLMF_COURSE, say).
    After start(): base_url ("http://localhost:PORT/") and token.
    """

    def __init__(self, target: str, workdir: Path, environ: dict | None = None):
        if target not in SERVED:
            raise ValueError(f"target must be one of {sorted(SERVED)}, got {target!r}")
        self.target = target
        self.workdir = Path(workdir)
        self.log_path = self.workdir / f"{target}-server.log"
        self.checkout = self.workdir / "checkout"
        self.environ = dict(environ or {})
        self.token = secrets.token_hex(16)
        self.base_url = ""
        self.process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        """The address of `path` on this server, with the token that logs the browser in."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{separator}token={self.token}"

    def git(self, *arguments: str) -> str:
        """Run git in the server's checkout; its output."""
        return subprocess.run(["git", "-C", str(self.checkout), "-c", "user.name=test", "-c",
                               "user.email=test@example.org", *arguments], check=True,
                              capture_output=True, text=True).stdout

    def tracked_changes(self) -> str:
        """`git status --porcelain` of the checkout: "" when no file git tracks or would track
        changed."""
        return self.git("status", "--porcelain")

    def start(self) -> LabServer:
        checkout = self.checkout
        for folder in SERVED[self.target]:
            copy_tracked(folder, checkout)
        self.git("init", "--quiet")
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", "the course as cloned")
        runtime = self.workdir / "runtime"
        env = dict(
            os.environ,
            **self.environ,
            # where the server says which port it took, and no tabs restored from an earlier session
            JUPYTER_RUNTIME_DIR=str(runtime),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
        )
        lab_args = (
            f"--no-browser --ServerApp.port={free_port()} --IdentityProvider.token={self.token}"
        )
        command = [
            "make", "--no-print-directory", "-C", str(checkout), "-f", str(ROOT / "Makefile"),
            # the test already runs in the installed environment: use it, do not reinstall
            *(option for stamp in INSTALL_STAMPS for option in ("-o", stamp)),
            f"BIN={Path(sys.executable).parent}",
            self.target, f"LAB_ARGS={lab_args}",
        ]
        with open(self.log_path, "w") as log:
            log.write(f"$ {shlex.join(command)}\n")
            log.flush()
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready(runtime)
        return self

    def _wait_until_ready(self, runtime: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"`make {self.target}` exited with {self.process.returncode} before serving; "
                    f"its log:\n{self._log_tail()}"
                )
            if not self.base_url:
                announced = sorted(runtime.glob("jpserver-*.json"))
                if announced:
                    try:
                        self.base_url = json.loads(announced[0].read_text())["url"]
                    except (ValueError, KeyError):
                        pass  # written but not complete yet
            if self.base_url and self._status_ok():
                return
            time.sleep(0.2)  # polling interval of the readiness condition
        raise TimeoutError(
            f"`make {self.target}` did not answer within {START_TIMEOUT_SECONDS} s; "
            f"its log:\n{self._log_tail()}"
        )

    def _status_ok(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])

    def stop(self) -> None:
        """Shut the server down with its kernels; kill whatever is left of them after a timeout."""
        if self.process is None:
            return
        started = descendants(self.process.pid)
        if self.base_url and self.process.poll() is None:
            request = urllib.request.Request(self.url("api/shutdown"), method="POST")
            try:
                urllib.request.urlopen(request, timeout=STOP_TIMEOUT_SECONDS).close()
            except (urllib.error.URLError, OSError):
                pass  # not answering: the signals below stop it
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid, start_time in started:  # kernels the shutdown did not stop
            kill_if_unchanged(pid, start_time)
        self.process = None

    def __enter__(self) -> LabServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
