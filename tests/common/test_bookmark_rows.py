"""The hot read path's SQL gives exactly what the API's models would have given."""

from __future__ import annotations

import sqlite3

import orjson
import pytest

from common import bookmark_rows
from common.bookmark_rows import iso_utc
from common.models import from_micros

EDGES = [0, 1, 999_999, 1_000_000, -1, -999_999, -1_000_000, -1_000_001, 1_764_000_000_000_000,
         1_764_000_000_123_456, 253_402_300_799_999_999]  # the last: 9999-12-31T23:59:59.999999Z


@pytest.mark.parametrize("micros", EDGES)
def test_times_are_written_in_sql_as_the_api_writes_them(micros: int) -> None:
    with sqlite3.connect(":memory:") as conn:
        in_sql = conn.execute(f"SELECT {iso_utc('?1')}", (micros,)).fetchone()[0]
    assert in_sql == orjson.loads(orjson.dumps(from_micros(micros), option=orjson.OPT_UTC_Z))


@pytest.mark.parametrize("names", [
    ["web", "Python", "db", "ZED", "api"],
    ["Élan", "ebay", "Zulu", "éclair", "apple", "Ärger"],  # non-ASCII: NOCASE folds A-Z only
    ["b"], [],
])
def test_tags_come_out_in_the_order_sqlites_nocase_collation_gives(names: list[str]) -> None:
    conn = sqlite3.connect(":memory:")
    expected = [row[0] for row in conn.execute(
        "SELECT value FROM json_each(?) ORDER BY value COLLATE NOCASE, value", (orjson.dumps(names).decode(),))]
    assert bookmark_rows.sorted_tags(list(names)) == expected
