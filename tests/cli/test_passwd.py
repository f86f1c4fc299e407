"""`kura user passwd NAME`: asked twice on a terminal, or one line from a pipe with --stdin; the
password it sets signs in on the web (issue 14)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from common.db import open_database
from common.settings import load_settings
from tests.api.web.conftest import form_csrf
from tests.cli.process import ROOT, kura_process, only_line

Run = tuple[int, str, str]


def passwd_piped(data_dir: Path, name: str, line: bytes) -> subprocess.CompletedProcess[bytes]:
    return kura_process(data_dir, "user", "passwd", name, "--stdin", stdin=_pipe(line))


def _pipe(data: bytes) -> int:
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


def passwd_on_a_terminal(data_dir: Path, name: str, answers: list[bytes]) -> tuple[int, bytes]:
    """As a person at a terminal, typing each answer once its prompt shows (getpass flushes what was
    typed ahead). The terminal is kura's only one: a new session, so getpass cannot reach the one
    pytest itself may run in. Returns the exit status and everything kura wrote to stderr."""
    master, slave = pty.openpty()
    env = {**os.environ, "KURA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "user", "passwd", name], env=env, cwd=ROOT,
                            stdin=slave, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    assert proc.stderr is not None
    seen = b""
    try:
        for prompt, answer in zip((f"New password for {name}: ".encode(), b"The same again: "), answers):
            while prompt not in seen:
                ready, _, _ = select.select([proc.stderr], [], [], 30)
                chunk = os.read(proc.stderr.fileno(), 4096) if ready else b""
                assert chunk, f"kura stopped before asking {prompt!r}: {seen!r}"
                seen += chunk
            seen = seen.split(prompt, 1)[1]
            os.write(master, answer)
        _, rest = proc.communicate(timeout=60)
        return proc.returncode, seen + rest
    finally:
        proc.kill()
        os.close(slave)
        os.close(master)


def signs_in(data_dir: Path, name: str, password: str) -> bool:
    settings = load_settings(data_dir=data_dir)
    db = open_database(settings)
    try:
        with TestClient(create_app(settings, db)) as browser:
            form = browser.get("/login")
            answer = browser.post("/login", data={"name": name, "password": password,
                                                  "csrf": form_csrf(form.text)}, follow_redirects=False)
            return answer.status_code == 303 and "kura_session" in browser.cookies
    finally:
        db.dispose()


def test_a_password_piped_in_signs_in_on_the_web(upgraded: Callable[..., Run], tmp_path: Path) -> None:
    upgraded("user", "add", "alice")
    done = passwd_piped(tmp_path / "data", "alice", b"horse battery staple\n")
    assert done.returncode == 0, done.stderr
    assert only_line(done.stdout).startswith("password set for alice")
    assert signs_in(tmp_path / "data", "alice", "horse battery staple")
    assert not signs_in(tmp_path / "data", "alice", "horse battery staple\n")


def test_a_password_typed_twice_at_the_terminal_is_set(upgraded: Callable[..., Run], tmp_path: Path) -> None:
    upgraded("user", "add", "alice")
    code, err = passwd_on_a_terminal(tmp_path / "data", "alice", [b"typed pass\n", b"typed pass\n"])
    assert code == 0, err
    assert b"typed pass" not in err  # not echoed
    assert signs_in(tmp_path / "data", "alice", "typed pass")


def test_two_different_answers_at_the_terminal_change_nothing(upgraded: Callable[..., Run], tmp_path: Path) -> None:
    upgraded("user", "add", "alice")
    code, err = passwd_on_a_terminal(tmp_path / "data", "alice", [b"one\n", b"two\n"])
    assert code == 1 and only_line(err) == "kura: the two passwords differ; nothing changed"
    assert not signs_in(tmp_path / "data", "alice", "one")


def test_an_unknown_name_or_an_empty_password_is_one_line_and_a_failure(upgraded: Callable[..., Run],
                                                                        tmp_path: Path) -> None:
    upgraded("user", "add", "alice")
    unknown = passwd_piped(tmp_path / "data", "nobody", b"pw\n")
    assert unknown.returncode == 1 and only_line(unknown.stderr) == "kura: no user named 'nobody'"
    for line in (b"\n", b""):
        empty = passwd_piped(tmp_path / "data", "alice", line)
        assert empty.returncode == 1 and only_line(empty.stderr) == "kura: the password is empty; nothing changed"


def test_without_a_terminal_or_stdin_it_says_how_to_pipe_one(upgraded: Callable[..., Run]) -> None:
    upgraded("user", "add", "alice")
    code, _, err = upgraded("user", "passwd", "alice")
    assert code == 1 and only_line(err) == "kura: no terminal to ask for the password on; pipe it in with --stdin"
