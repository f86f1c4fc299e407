"""The backup's big database: copies of the main user up to the size asked for, log pruned as on a host."""

from __future__ import annotations

from pathlib import Path

from bench import bigdb, datagen
from common.sqlite import sqlite3

SMALL = datagen.Spec(main_bookmarks=300, other_users=1, other_bookmarks=20, tags=30, seed=5)


def test_copies_of_the_main_user_fill_the_file_while_the_change_log_stays_one_row(tmp_path: Path) -> None:
    source, meta = datagen.cached(SMALL, tmp_path / "cache")
    target = source.stat().st_size + 1
    built = bigdb.build(tmp_path / "big", cache=tmp_path / "cache", target_bytes=target, spec=SMALL)
    conn = sqlite3.connect(tmp_path / "big" / "kura.db")
    try:
        assert built["copies"] >= 1 and built["bytes"] >= target
        per_user = dict(conn.execute("SELECT u.name, count(b.id) FROM users u JOIN bookmarks b"
                                     " ON b.user_id = u.id GROUP BY u.id"))
        assert [per_user[f"bulk{n:02d}"] for n in range(1, built["copies"] + 1)] == [300] * built["copies"]
        head = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'search_log'").fetchone()[0]
        assert conn.execute("SELECT count(*), max(seq) FROM search_log").fetchone() == (1, head)
        assert head > meta["users"][0]["last_id"]  # the copies logged their rows before the prune
    finally:
        conn.close()
