"""`kura import` and `kura export`: counts on stdout, one-line errors, a progress bar only on a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from loguru import logger
from sqlalchemy import text

from common.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bookmarks"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _kura_env(settings, db, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("KURA_DATA_DIR", str(settings.data_dir))
    yield
    # main() pointed loguru at this test's captured stderr, which closes now: later tests' log lines
    # would hit a closed file. Write to whatever stderr is current instead.
    logger.remove()
    logger.add(lambda message: sys.stderr.write(message))


def count(db, table: str) -> int:
    with db.read_session() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_import_prints_the_counts_and_the_skipped_lines(db, alice, capsys) -> None:
    assert main(["import", str(FIXTURES / "firefox.html"), "--user", "alice"]) == 0
    out, err = capsys.readouterr()
    assert out == "created 7, updated 0, skipped 2\n"
    assert err.splitlines() == ["skipped line 24: place: link is browser-internal, not a bookmark",
                                "skipped line 33: javascript: link is browser-internal, not a bookmark"]
    assert count(db, "bookmarks") == 7


@pytest.mark.parametrize(("argv", "needle"), [
    (["import", str(FIXTURES / "nope.html"), "--user", "alice"], "cannot read"),
    (["import", str(FIXTURES / "chrome.html"), "--user", "nobody"], "no user named 'nobody'"),
    (["import", __file__, "--user", "alice"], "not a bookmark file"),
    (["export", "--user", "nobody"], "no user named 'nobody'"),
], ids=["missing-file", "unknown-user", "not-bookmarks", "export-unknown-user"])
def test_failures_are_one_line_and_a_non_zero_exit(db, alice, capsys, argv, needle) -> None:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and err.startswith("kura: ") and needle in err
    assert count(db, "bookmarks") == 0


def test_strict_mode_on_the_command_line_changes_nothing(db, alice, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF="https://a.example/">a</A>\n'
                   '<DT><A HREF="gopher:">b</A>\n</DL>\n')
    assert main(["import", str(bad), "--user", "alice", "--mode", "strict"]) == 1
    assert "line 4" in capsys.readouterr().err
    assert count(db, "bookmarks") == 0


def test_export_then_import_through_the_cli_round_trips(db, alice, bob, capsysbinary) -> None:
    main(["import", str(FIXTURES / "chrome.html"), "--user", "alice"])
    capsysbinary.readouterr()
    assert main(["export", "--user", "alice", "--format", "json"]) == 0
    exported = capsysbinary.readouterr().out
    assert len(orjson.loads(exported)["bookmarks"]) == 5
    assert main(["export", "--user", "alice"]) == 0
    html = capsysbinary.readouterr().out
    assert html.startswith(b"<!DOCTYPE NETSCAPE-Bookmark-file-1>")


def test_import_reads_standard_input_and_folders_can_become_tags(db, alice, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((FIXTURES / "chrome.html").read_bytes())))
    assert main(["import", "-", "--user", "alice", "--folders-as-tags"]) == 0
    assert capsys.readouterr().out == "created 5, updated 1, skipped 0\n"
    assert count(db, "collections") == 0 and count(db, "tags") == 4  # the folders with bookmarks


def run_cli(args: list[str], *, stderr_tty: bool) -> tuple[int, bytes, bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "common.cli", *args]
    if not stderr_tty:
        proc = subprocess.run(command, env=env, capture_output=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # a terminal has a size
    try:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, _ = proc.communicate(timeout=60)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
    return proc.returncode, out, err


def test_a_progress_bar_shows_on_a_terminal_and_not_in_a_pipe(db, alice) -> None:
    on_tty = run_cli(["import", str(FIXTURES / "chrome.html"), "--user", "alice"], stderr_tty=True)
    assert on_tty[0] == 0 and b"importing" in on_tty[2]
    in_pipe = run_cli(["import", str(FIXTURES / "chrome.html"), "--user", "alice"], stderr_tty=False)
    assert in_pipe == (0, b"created 0, updated 6, skipped 0\n", b"")
