"""The SQLite library Kura runs on: import `sqlite3` from here, never the standard library's.

Kura bundles a current SQLite (the pysqlite3 wheel: Python's sqlite3 module built with its own copy
of the library, 3.53 when this was written), so the WAL-reset fix of 3.51.3 and the faster engine
do not wait for the distribution's libsqlite3 (Debian 12 ships 3.40.1). Where the wheel does not
exist (it is built for x86_64 only), the standard library's module is used and
`common.db.sqlite_version_check` says at start-up what to upgrade.

One library per process, for every file: two copies of SQLite in one process each keep their own
record of the POSIX locks on a database, so closing a connection in one silently drops the locks
that the other's connections hold (sqlite.org/howtocorrupt.html, section 2.2.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the wheel has no type information; its API is the standard library's
    import sqlite3
else:
    try:
        from pysqlite3 import dbapi2 as sqlite3
    except ImportError:  # no wheel for this machine: the distribution's library, with a warning
        import sqlite3

BUNDLED = sqlite3.__name__ != "sqlite3"

__all__ = ["BUNDLED", "sqlite3"]
