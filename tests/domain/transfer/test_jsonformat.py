"""Kura JSON reads back every field the exporter writes (domain/fields.py's list)."""

from __future__ import annotations

from domain.fields import BOOKMARK_FIELDS
from domain.transfer.jsonformat import BookmarkIn


def test_the_json_reader_takes_every_key_of_the_field_list_and_the_tags() -> None:
    assert set(BookmarkIn.model_fields) == {f.key for f in BOOKMARK_FIELDS} | {"tags"}
