"""`kura import` and `kura export`: counts on stdout, one-line errors, a progress bar only on a
terminal, standard input for `sudo`, and an export that is safe to write to a file or a short pipe."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from domain.transfer import childparse
from tests.cli.process import ROOT, kura_process, only_line

FIXTURES = ROOT / "tests" / "fixtures" / "bookmarks"


def count(db, table: str) -> int:  # type: ignore[no-untyped-def]
    with db.read_session() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def many_bookmarks(path: Path, n: int) -> Path:
    links = "".join(f'<DT><A HREF="https://example.com/page/{i}" ADD_DATE="1700000000">page {i}</A>\n'
                    for i in range(n))
    path.write_text(f"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n{links}</DL>\n")
    return path


def test_import_prints_the_counts_and_the_skipped_lines(db, alice, kura) -> None:  # type: ignore[no-untyped-def]
    code, out, err = kura("import", str(FIXTURES / "firefox.html"), "--user", "alice")
    assert (code, out) == (0, "created 7, updated 0, unchanged 0, skipped 2\n")
    assert err.splitlines() == ["skipped line 24: place: link is browser-internal, not a bookmark",
                                "skipped line 33: javascript: link is browser-internal, not a bookmark"]
    assert count(db, "bookmarks") == 7


def test_a_second_import_counts_unchanged_and_a_cut_title_is_reported(db, alice, kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long = tmp_path / "long.html"
    long.write_text('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF="https://a.example/">'
                    + "t" * 3000 + '</A>\n<DT><A HREF="https://b.example/">b</A>\n</DL>\n')
    code, out, err = kura("import", str(long), "--user", "alice")
    assert (code, out) == (0, "created 2, updated 0, unchanged 0, skipped 0\n")
    assert only_line(err).startswith("adjusted line 3: title cut to ")
    assert kura("import", str(long), "--user", "alice")[:2] == (0, "created 0, updated 0, unchanged 2, skipped 0\n")


@pytest.mark.parametrize(("argv", "needle"), [
    (["import", str(FIXTURES / "nope.html"), "--user", "alice"], "cannot read"),
    (["import", str(FIXTURES / "chrome.html"), "--user", "nobody"], "no user named 'nobody'"),
    (["import", __file__, "--user", "alice"], "not a bookmark file"),
    (["export", "--user", "nobody"], "no user named 'nobody'"),
    (["export", "--user", "alice", "-o", "/no/such/dir/out.html"], "cannot write /no/such/dir/out.html"),
], ids=["missing-file", "unknown-user", "not-bookmarks", "export-unknown-user", "export-nowhere"])
def test_failures_are_one_line_and_a_non_zero_exit(db, alice, kura, argv, needle) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura(*argv)
    assert code == 1 and only_line(err).startswith("kura: ") and needle in err
    assert count(db, "bookmarks") == 0


def test_strict_mode_on_the_command_line_changes_nothing(db, alice, kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF="https://a.example/">a</A>\n'
                   '<DT><A HREF="gopher:">b</A>\n</DL>\n')
    code, _, err = kura("import", str(bad), "--user", "alice", "--mode", "strict")
    assert code == 1 and "line 4" in err
    assert count(db, "bookmarks") == 0


def test_export_to_a_file_then_import_round_trips(db, alice, bob, kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kura("import", str(FIXTURES / "chrome.html"), "--user", "alice")
    out = tmp_path / "alice.json"
    assert kura("export", "--user", "alice", "--format", "json", "-o", str(out)) == (0, f"wrote {out}\n", "")
    assert len(orjson.loads(out.read_bytes())["bookmarks"]) == 5
    assert out.stat().st_mode & 0o777 == 0o600  # every bookmark, private ones too
    assert kura("import", str(out), "--user", "bob")[:2] == (0, "created 5, updated 0, unchanged 0, skipped 0\n")
    assert kura("export", "--user", "alice", "--output", str(tmp_path / "alice.html"))[0] == 0
    assert (tmp_path / "alice.html").read_bytes().startswith(b"<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["alice.html", "alice.json"]


def test_an_export_that_fails_midway_leaves_the_old_file_and_no_temp_file(
        db, alice, kura, tmp_path: Path, tmpfs) -> None:  # type: ignore[no-untyped-def]
    kura("import", str(many_bookmarks(tmp_path / "many.html", 1500)), "--user", "alice")
    small = tmpfs(64 * 1024)  # the JSON export of 1,500 bookmarks is larger: the disk fills up
    (small / "alice.json").write_bytes(b"yesterday's export")
    code, out, err = kura("export", "--user", "alice", "--format", "json", "-o", str(small / "alice.json"))
    assert (code, out) == (1, "")
    assert only_line(err) == f"kura: cannot write {small / 'alice.json'}: No space left on device"
    assert [p.name for p in small.iterdir()] == ["alice.json"]
    assert (small / "alice.json").read_bytes() == b"yesterday's export"


def test_export_into_a_pipe_closed_early_exits_0_quietly(db, alice, kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # More than a pipe's 64 KiB buffer, so kura is still writing when the reader leaves (`| head`).
    kura("import", str(many_bookmarks(tmp_path / "many.html", 3000)), "--user", "alice")
    env = {**os.environ, "KURA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-m", "cli", "export", "--user", "alice"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        head = proc.stdout.read(100)
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert head.startswith(b"<!DOCTYPE NETSCAPE-Bookmark-file-1>") and err == b""


def test_import_reads_standard_input_as_sudo_kura_import_dash_does(db, alice, bob, kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    by_path = kura("import", str(FIXTURES / "chrome.html"), "--user", "bob")
    with open(FIXTURES / "chrome.html", "rb") as source:  # the invoking user opened it, not kura
        done = kura_process(tmp_path / "data", "import", "-", "--user", "alice", stdin=source)
    assert (done.returncode, done.stdout.decode(), done.stderr) == (0, by_path[1], b"")
    assert by_path[1].startswith("created 5, ")
    with db.read_session() as session:
        per_user = session.execute(text("SELECT user_id, count(*) FROM bookmarks GROUP BY user_id")).all()
    assert sorted(per_user) == [(alice.user_id, 5), (bob.user_id, 5)]


def test_a_large_import_logs_no_slow_sql_however_low_the_threshold(db, alice, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Every statement of the import takes longer than 0.001 ms; the threshold is for requests.
    done = kura_process(tmp_path / "data", "import", str(many_bookmarks(tmp_path / "many.html", 3000)),
                        "--user", "alice", extra_env={"KURA_SLOW_SQL_MS": "0.001"})
    assert (done.returncode, done.stdout) == (0, b"created 3000, updated 0, unchanged 0, skipped 0\n")
    assert b"slow SQL" not in done.stderr and done.stderr == b""


def test_a_file_large_enough_to_parse_in_a_second_process_imports_by_path_and_through_a_pipe(db, alice, bob, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = many_bookmarks(tmp_path / "big.html", 14_000)
    assert big.stat().st_size >= childparse.MIN_BYTES  # so `kura import` hands the parse to a child
    done = kura_process(tmp_path / "data", "import", str(big), "--user", "alice")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"created 14000, updated 0, unchanged 0, skipped 0\n", b"")
    # As `sudo kura import FILE` hands it over: a pipe, copied to a temporary file, then the same way.
    with subprocess.Popen(["cat", str(big)], stdout=subprocess.PIPE) as cat:
        piped = kura_process(tmp_path / "data", "import", "-", "--user", "bob", stdin=cat.stdout)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, done.stdout, b"")
    assert count(db, "bookmarks") == 2 * 14_000


def run_on_terminal(args: list[str]) -> tuple[int, bytes, bytes]:
    """`kura` with stderr on a terminal (stdout a pipe), as when an admin watches an import."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # a terminal has a size
    try:
        proc = subprocess.Popen([sys.executable, "-m", "cli", *args], env=env,
                                stdout=subprocess.PIPE, stderr=slave)
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


def test_a_progress_bar_shows_on_a_terminal_and_not_in_a_pipe(db, alice, settings) -> None:  # type: ignore[no-untyped-def]
    os.environ["KURA_DATA_DIR"] = str(settings.data_dir)  # removed again by the autouse clean-up
    on_tty = run_on_terminal(["import", str(FIXTURES / "chrome.html"), "--user", "alice"])
    assert on_tty[0] == 0 and b"importing" in on_tty[2]
    in_pipe = kura_process(settings.data_dir, "import", str(FIXTURES / "chrome.html"), "--user", "alice")
    assert (in_pipe.returncode, in_pipe.stderr) == (0, b"")  # no bar, no log line: the summary alone
    assert only_line(in_pipe.stdout).startswith("created 0, ") and in_pipe.stdout.count(b"\n") == 1
