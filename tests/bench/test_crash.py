"""The crash section's plumbing: the drill's verdict on a real file, the burst's figures, the report."""

from __future__ import annotations

from pathlib import Path

from bench import __main__ as cli
from bench import burst, crash, readme, report
from bench.live import Reply, make_token
from common.sqlite import sqlite3

DRILL = {"kills": 200, "acknowledged": 4000, "lost": 0, "ids_reused": 0, "integrity": "ok", "fts_integrity": "ok",
         "synchronous": "NORMAL", "lost_examples": [], "counts": {"acknowledged creates": 4000}}
BURST = {"writers": 200, "created": 190, "busy_503": 10, "unanswered": 0, "malformed_503": 0, "p50_s": 0.9,
         "p99_s": 1.5, "max_s": 1.6, "readyz_polls": 150, "readyz_unanswered": 0, "readyz_max_s": 0.4,
         "settings": "default"}


def ledger_with(*bookmarks: tuple[int, str, str | None]) -> crash.Ledger:
    """A ledger of acknowledged bookmarks (id, url, title or None for an acknowledged delete)."""
    ledger = crash.Ledger()
    for bookmark_id, url, title in bookmarks:
        state = None if title is None else (url, title, ("drill",))
        ledger.acked[url] = crash.Acked(bookmark_id, {state})
        ledger.urls_of_id.setdefault(bookmark_id, set()).add(url)
    return ledger


def insert(db_path: Path, *rows: tuple[int, str, str]) -> None:
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.execute("INSERT INTO tags (id, user_id, name) VALUES (1, 1, 'drill')")
            for bookmark_id, url, title in rows:
                conn.execute("INSERT INTO bookmarks (id, user_id, url, title, created_at, modified_at) "
                             "VALUES (?, 1, ?, ?, '2026-12-01', '2026-12-01')", (bookmark_id, url, title))
                conn.execute("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (?, 1)", (bookmark_id,))
    finally:
        conn.close()


def test_the_drill_counts_a_missing_or_changed_acknowledged_bookmark_as_lost_and_a_taken_id_as_reused(
        tmp_path: Path) -> None:
    make_token(tmp_path / "data")
    db_path = tmp_path / "data" / "kura.db"
    insert(db_path, (1, "https://a.example/", "kept"), (2, "https://b.example/", "stale title"),
           (3, "https://other.example/", "someone else"))
    ledger = ledger_with((1, "https://a.example/", "kept"), (2, "https://b.example/", "new title"),
                         (3, "https://c.example/", "mine"), (4, "https://d.example/", "never stored"),
                         (5, "https://e.example/", None))
    verdict = crash.verify(db_path, ledger)
    assert (verdict["acknowledged"], verdict["lost"], verdict["ids_reused"]) == (5, 3, 1)
    assert (verdict["integrity"], verdict["fts_integrity"]) == ("ok", "ok")
    assert any("id 4" in example for example in verdict["lost_examples"])


def test_the_drill_accepts_either_state_for_a_change_that_got_no_answer(tmp_path: Path) -> None:
    make_token(tmp_path / "data")
    insert(tmp_path / "data" / "kura.db", (1, "https://a.example/", "old"))
    ledger = ledger_with((1, "https://a.example/", "old"))
    ledger.changed("https://a.example/", "unknown", ("https://a.example/", "old", ("drill",)), None)
    assert crash.verify(tmp_path / "data" / "kura.db", ledger)["lost"] == 0
    ledger.changed("https://a.example/", "acknowledged", ("https://a.example/", "old", ("drill",)), None)
    assert crash.verify(tmp_path / "data" / "kura.db", ledger)["lost"] == 1  # an acknowledged delete, undone


def test_a_503_counts_as_well_formed_only_with_retry_after_and_the_error_shape() -> None:
    shape = b'{"error": {"code": "busy", "message": "try again", "details": {}}}'
    assert burst.well_formed_503(Reply(503, {"retry-after": "1"}, shape, 0.1))
    assert not burst.well_formed_503(Reply(503, {}, shape, 0.1))
    assert not burst.well_formed_503(Reply(503, {"retry-after": "1"}, b'{"detail": "busy"}', 0.1))
    assert not burst.well_formed_503(Reply(503, {"retry-after": "1"}, b"<html>", 0.1))


def test_burst_figures_count_statuses_requests_without_an_answer_and_the_slowest_readyz() -> None:
    writes = [burst.Outcome(201, 0.2), burst.Outcome(503, 0.1, well_formed=False), burst.Outcome("TimeoutError", 30)]
    polls = [burst.Outcome(200, 0.3), burst.Outcome("ConnectionRefusedError", 0.001), burst.Outcome(503, 0.7)]
    got = burst.figures(writes, polls)
    assert (got["created"], got["busy_503"], got["unanswered"], got["malformed_503"]) == (1, 1, 1, 1)
    assert got["statuses"] == {"201": 1, "503": 1, "TimeoutError": 1}
    assert (got["max_s"], got["p50_s"], got["readyz_max_s"], got["readyz_unanswered"]) == (30, 0.2, 0.7, 1)


def test_crash_is_a_section_and_quick_runs_at_most_fifty_kills() -> None:
    assert cli.parse_args(["--only", "crash"]).kills == 200
    assert cli.parse_args(["--only", "crash", "--kills", "500"]).kills == 500
    assert cli.parse_args(["--only", "crash", "--quick"]).kills == 50


def test_the_report_prints_the_drill_and_burst_figures_and_flags_a_lost_write() -> None:
    result = {"crash": {"drill_normal": DRILL, "drill_full": {**DRILL, "synchronous": "FULL", "lost": 2},
                        "burst": BURST, "burst_2_threads": {**BURST, "settings": "KURA_API_THREADS=2",
                                                            "readyz_max_s": 1.2}}}
    result["targets"] = report.check_targets(result)
    text = report.render(result)
    assert "crash drill, synchronous=NORMAL: kills 200, acknowledged 4000, lost 0, ids reused 0" in text
    assert "crash burst, 200 simultaneous creates (default): 201 x 190, 503 x 10, no answer 0" in text
    assert "p50 0.9 s, p99 1.5 s" in text
    missed = {c["figure"] for c in result["targets"] if not c["ok"]}
    assert missed == {"crash drill FULL: acknowledged but lost",
                      "200 writers (KURA_API_THREADS=2): slowest /readyz (s)"}
    assert "crash drill, synchronous=FULL" in readme.latest_block(result, source="x.json")
    assert "crash.drill_normal.lost" in report.flatten(result)
