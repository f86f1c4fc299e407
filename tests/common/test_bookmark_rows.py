"""The hot read path's SQL gives exactly what the API's models would have given."""

from __future__ import annotations

import sqlite3

import orjson
import pytest

from common.bookmark_rows import iso_utc
from common.models import from_micros

EDGES = [0, 1, 999_999, 1_000_000, -1, -999_999, -1_000_000, -1_000_001, 1_764_000_000_000_000,
         1_764_000_000_123_456, 253_402_300_799_999_999]  # the last: 9999-12-31T23:59:59.999999Z


@pytest.mark.parametrize("micros", EDGES)
def test_times_are_written_in_sql_as_the_api_writes_them(micros: int) -> None:
    with sqlite3.connect(":memory:") as conn:
        in_sql = conn.execute(f"SELECT {iso_utc('?1')}", (micros,)).fetchone()[0]
    assert in_sql == orjson.loads(orjson.dumps(from_micros(micros), option=orjson.OPT_UTC_Z))
