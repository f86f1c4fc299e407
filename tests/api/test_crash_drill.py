"""The crash drill of issue 10: a real kura-api under write load, killed with SIGKILL 50 times.

What a client was told is what the file holds: every create, update and delete answered 2xx is in
the SQLite file afterwards, as answered, under the id that was answered, and the file and its FTS5
index pass their integrity checks; the derived search index, caught up as the next start does, finds
exactly what the table holds. The drill itself is bench/crash.py (the bench runs it longer).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import crash

KILLS = 50


def run_drill(tmp_path: Path, synchronous: str) -> dict:
    figures = crash.drill(tmp_path, kills=KILLS, seed=KILLS, env={"KURA_SQLITE_SYNCHRONOUS": synchronous})
    print(f"\ncrash drill, synchronous={synchronous}: kills {figures['kills']}, acknowledged "
          f"{figures['acknowledged']}, lost {figures['lost']}, ids reused {figures['ids_reused']}, "
          f"integrity {figures['integrity']}, fts {figures['fts_integrity']}, stale answers "
          f"{figures['stale_answers']}, search {figures['search'] or 'agrees'}; "
          f"{figures['counts']}")
    return figures


def assert_every_acknowledged_write_survived(figures: dict) -> None:
    assert figures["kills"] == KILLS
    assert figures["counts"].get("acknowledged creates", 0) > KILLS  # the load really ran between kills
    assert (figures["lost"], figures["ids_reused"]) == (0, 0), figures["lost_examples"]
    assert figures["counts"].get("answers not matching the request", 0) == 0
    assert figures["integrity"] == "ok"
    assert figures["fts_integrity"] == "ok"
    assert figures["stale_answers"] == 0  # every stored API answer and links' tag set agrees with the rows
    assert figures["search"] == []  # the search index, caught up after the kills, agrees with the table


@pytest.mark.slow
def test_every_acknowledged_write_survives_fifty_sigkills_with_synchronous_normal(tmp_path: Path) -> None:
    assert_every_acknowledged_write_survived(run_drill(tmp_path, "NORMAL"))
