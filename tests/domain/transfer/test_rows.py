"""An imported row carries every field of the list (domain/fields.py) into its insert and its merge."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from domain.fields import BOOKMARK_COLUMNS, FLAGS
from domain.transfer.rows import INSERT_FIELDS, Row, complete, merge

BASE_US = 1_600_000_000_000_000


def distinct_values(offset: int) -> dict[str, object]:
    """A value per field, each different from every other field's and from `offset`'s other calls."""
    values: dict[str, object] = {column: f"{column} {offset}" for column in BOOKMARK_COLUMNS}
    values |= {flag: bool(offset) for flag in FLAGS}
    values |= {"created_at": BASE_US - offset, "modified_at": BASE_US + offset}
    return values


@pytest.mark.parametrize("flag", FLAGS)
def test_a_completed_row_inserts_each_field_in_its_own_column(flag: str) -> None:
    values = distinct_values(1) | {other: other == flag for other in FLAGS}  # one flag set: a swap shows
    row = Row(line=None, values=values, title_given=True, tags={}, folder=())
    complete(row, now=0)
    assert INSERT_FIELDS == tuple(c for c in BOOKMARK_COLUMNS if c != "collection_id")
    assert len(row.insert) == len(INSERT_FIELDS)
    assert dict(zip(INSERT_FIELDS, row.insert)) == {c: values[c] for c in INSERT_FIELDS}


def test_a_newer_entry_that_states_every_field_changes_every_field_but_the_url() -> None:
    base = distinct_values(0)
    incoming = Row(line=None, values={**distinct_values(1), "url": base["url"]}, title_given=True, tags={}, folder=())
    assert set(merge(base, incoming)) == set(BOOKMARK_COLUMNS) - {"url"}


def test_a_row_comes_back_from_the_spool_with_every_field() -> None:
    # Every field set away from its default: a field that Row.__reduce__ forgot would come back default.
    given = {"line": 7, "values": distinct_values(1), "title_given": True, "tags": {"a": "A"},
             "folder": ("x", "y"), "insert": ("url", 1)}
    assert set(given) == {f.name for f in dataclasses.fields(Row)}
    row = Row(**given)
    assert pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)) == row
