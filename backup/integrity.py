"""PRAGMA integrity_check on a standalone copy, in parts that run side by side.

One integrity_check runs on one core, and on a 1 GB database it is most of a backup's time. Its work
splits into parts that together check everything it checks: `quick_check` for the whole file (every
b-tree's structure, every page used exactly once, the freelist, NOT NULL) and `integrity_check(TABLE)`
for each table (its rows against its index entries, CHECK constraints). The parts are independent, so
they can run on several connections at once, beside other work (a run's compression).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from backup.errors import StageError
from backup.snapshot import newest_bookmark_id, row_counts
from common.sqlite import sqlite3

# The whole copy through one memory map, which the parts running at once share. Through read(), a
# run on a 1.2 GB database made 6.4 million pread calls, most of them the check's (a table's rows
# looked up in every index), 14-17 s of system time. Whole: 4 s, and the backup 24.2 s against 27.7
# (medians of five runs each, 2026-12-03). Mapped pages count as resident memory, but they are page
# cache the kernel can reclaim, so kura-monitor's memory alert leaves them out (the backup's RSS
# reaches about the file's size or more, its own memory stayed under 60 MB). SQLite maps at most its
# compile-time limit (1 TiB in the bundled build) and reads the rest the usual way.
MMAP_BYTES = 1 << 40
# Parts checked at once. On two cores a 1.2 GB copy was checked in 15 s instead of 27.
THREADS = 2
# A smaller copy is checked whole, in one part: its check takes well under a second, and a part per
# table would cost a connection each, on threads that run only when the CPU is otherwise idle.
SPLIT_BYTES = 64 << 20


@dataclass(frozen=True)
class Contents:
    row_counts: dict[str, int]
    newest_bookmark_id: int | None


@dataclass(frozen=True)
class Plan:
    path: Path
    contents: Contents  # read before the check: what a sound copy holds
    parts: list[str]  # the longest first, as far as counts tell, so that no long part starts last


def _open(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:  # e.g. the copy vanished: a one-line failure, never a traceback
        raise StageError("verify", f"cannot open the unpacked copy {path.name}: {exc}") from exc
    # Read through a memory map: a third less time for integrity_check than read() copies. Safe here
    # because the file is this process's private copy, which nobody truncates under us.
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return conn


def _unsound(path: Path, exc: sqlite3.DatabaseError) -> StageError:
    return StageError("verify", f"{path.name} is not a sound SQLite database: {exc}")


def plan(path: Path, *, split_above: int = SPLIT_BYTES) -> Plan:
    """Count the copy's rows and list the parts of its check: the whole check when the file is not
    larger than ``split_above`` bytes; otherwise the tables with indexes first, by rows times indexes
    (each row is looked up in each index: that is the check's cost), then the whole-file part (about
    one read of everything), then the tables without an index (one read of each)."""
    conn = _open(path)
    try:
        counts = row_counts(conn)
        indexes = dict(conn.execute("SELECT tbl_name, count(*) FROM sqlite_master WHERE type = 'index'"
                                    " GROUP BY tbl_name").fetchall())
        newest = newest_bookmark_id(conn, counts)
    except sqlite3.DatabaseError as exc:
        raise _unsound(path, exc) from exc
    finally:
        conn.close()
    contents = Contents(row_counts=counts, newest_bookmark_id=newest)
    if path.stat().st_size <= split_above:
        return Plan(path=path, contents=contents, parts=["PRAGMA integrity_check"])
    indexed = sorted((t for t in counts if indexes.get(t)), key=lambda t: counts[t] * indexes[t], reverse=True)
    plain = sorted((t for t in counts if not indexes.get(t)), key=counts.__getitem__, reverse=True)
    return Plan(path=path, contents=contents,
                parts=[*(_table(t) for t in indexed), "PRAGMA quick_check", *(_table(t) for t in plain)])


def _table(name: str) -> str:
    return f'PRAGMA integrity_check("{name}")'


def run_part(path: Path, pragma: str) -> list[str]:
    """One part's answer lines ("ok" alone when sound)."""
    conn = _open(path)
    try:
        rows = [r[0] for r in conn.execute(pragma).fetchall()]
    except sqlite3.DatabaseError as exc:
        raise _unsound(path, exc) from exc
    finally:
        conn.close()
    # A b-tree's problems come as one row of lines under a "*** in database main ***" header: one line
    # each, so that the error names the problems themselves and stays on one line.
    return [line for row in rows for line in row.splitlines() if not line.startswith("*** in database")]


def require_ok(answers: Iterable[list[str]]) -> None:
    problems = [line for lines in answers for line in lines if line != "ok"]
    if problems:
        raise StageError("verify", f"integrity_check failed: {'; '.join(problems[:3])}")


def check_database(path: Path, *, split_above: int = SPLIT_BYTES) -> Contents:
    """The full check of a standalone copy, its parts on THREADS threads; then what it holds."""
    checks = plan(path, split_above=split_above)
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="check") as pool:
        require_ok(pool.map(partial(run_part, path), checks.parts))
    return checks.contents
