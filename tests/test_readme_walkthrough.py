"""README.md's walk-through works verbatim on a fresh copy of the checkout, answers as shown.

"First steps", "API overview", "API conventions" and "Import and export" run in one shell, in README
order, in a copy of the checkout's files (no database, no `~/bookmarks.html`, no users) that shares
this checkout's `.venv`. Three things differ from a user's terminal, each said here:
- `./install.sh --dev` has already run (CI runs it before the tests; here it would reinstall .venv);
- `.venv/bin/kura-api`, which the README runs in the foreground of its own terminal, starts in the
  background, and the walk goes on once it answers `/readyz`, as the reader goes on in a second one;
- port 8000 is whatever port is free, set the README's way (`KURA_PORT`) and used in the URLs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.live import NO_ANSWER, ROOT, call
from tests.readme_walk import Shell, Step, read_steps
from tests.support import free_port, program

README = ROOT / "README.md"
SECTIONS = ("first-steps", "api", "api-conventions", "import-export")
INSTALLED = "./install.sh --dev && "  # already done: see the module's docstring
SERVER = ".venv/bin/kura-api"
HOST_ONLY = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "STATE_DIRECTORY"}


def steps() -> list[Step]:
    return read_steps(README.read_text(), SECTIONS)


def fresh_copy(target: Path) -> Path:
    """The checkout's files as a clone would have them (tracked and new, never ignored ones such as
    var/), plus a link to its .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


class Walk:
    """The shell and the foreground server of one walk-through."""

    def __init__(self, checkout: Path, home: Path) -> None:
        self.checkout, self.port = checkout, free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k not in HOST_ONLY}
        self.env.update(HOME=str(home), KURA_PORT=str(self.port))
        self.shell = Shell(checkout, self.env)
        self.server: subprocess.Popen[bytes] | None = None

    def command(self, step: Step) -> str:
        return step.command.removeprefix(INSTALLED).replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")

    def start_server(self, timeout: float = 60.0) -> None:
        with (self.checkout / "kura-api.log").open("wb") as log:
            self.server = subprocess.Popen([SERVER], cwd=self.checkout, env=self.env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.server.poll() is None:
            try:
                if call(self.port, "GET", "/readyz", timeout=5).status == 200:
                    return
            except NO_ANSWER:
                time.sleep(0.05)  # polling for a condition, not waiting for a guessed time
        raise AssertionError(f"kura-api did not answer: {(self.checkout / 'kura-api.log').read_text()[-2000:]}")

    def close(self) -> None:
        self.shell.close()
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=30)


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    (tmp_path / "home").mkdir()
    (tmp_path / "kura").mkdir()
    session = Walk(fresh_copy(tmp_path / "kura"), tmp_path / "home")
    yield session
    session.close()


def test_the_walkthrough_starts_the_server_and_uses_the_shipped_example() -> None:
    commands = [step.command for step in steps()]
    assert commands.count(SERVER) == 1 and commands[0].startswith(INSTALLED)
    assert any("examples/bookmarks.html" in c for c in commands)
    assert (ROOT / "examples" / "bookmarks.html").read_text().startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert not [c for c in commands if "~" in c or "$HOME" in c], "the walk-through may use only the checkout"


def test_every_user_the_walkthrough_uses_is_created_first() -> None:
    created: set[str] = set()
    for step in steps():
        if (added := re.search(r"kura user add (\w+)", step.command)) is not None:
            created.add(added.group(1))
        for used in re.findall(r"(?:--user|token create) (\w+)", step.command):
            assert used in created, f"README.md:{step.line} uses user {used!r} before creating them"


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written_and_answers_as_shown(walk: Walk) -> None:
    program("curl")
    problems = []
    for step in steps():
        if step.command == SERVER:
            walk.start_server()
            continue
        status, answer = walk.shell.run(walk.command(step))
        if status != 0:
            problems.append(f"README.md:{step.line} exited {status}: {step.command}\n{answer}")
        elif not step.agrees(answer):
            shown = "\n".join(step.shown)
            problems.append(f"README.md:{step.line}: {step.command}\nREADME shows:\n{shown}\nactual:\n{answer}")
    assert not problems, "\n\n".join(problems)
