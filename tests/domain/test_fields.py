"""The bookmark's field list and the one validation both write paths share (domain/fields.py)."""

from __future__ import annotations

import pytest

from domain import fields
from common.errors import BadRequest
from domain.models import Bookmark

# The bookmarks table's columns that are not a user's fields, each for its reason.
NOT_FIELDS = {
    "id": "the row's identity, never exported (a re-import gets its own)",
    "user_id": "the owner, who is whoever imports",
    "api_json": "the API's answer, derived from the fields by triggers (migration 0008)",
}


def test_the_field_list_holds_every_column_of_the_bookmark_model_but_the_internal_ones() -> None:
    columns = [column.name for column in Bookmark.__table__.columns if column.name not in NOT_FIELDS]
    assert sorted(fields.BOOKMARK_COLUMNS) == sorted(columns)
    assert len(set(fields.BOOKMARK_COLUMNS)) == len(fields.BOOKMARK_COLUMNS)
    assert len({f.key for f in fields.BOOKMARK_FIELDS}) == len(fields.BOOKMARK_FIELDS)


@pytest.mark.parametrize(("values", "message"), [
    ({"title": "a\nb"}, "title contains a control character"),
    ({"title": "nul\x00"}, "title contains a control character"),
    ({"notes": "bell\x07"}, "notes contains a control character"),
    ({"description": "x" * (fields.TEXT_LIMITS["description"] + 1)}, "description is longer"),
])
def test_check_text_refuses_control_characters_and_overlong_text(values: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        fields.check_text(values)


def test_free_text_keeps_line_breaks_and_tabs() -> None:
    fields.check_text({"title": "one line", "description": "a\nb\r\n\tc", "notes": "x\ny"})


@pytest.mark.parametrize(("names", "message"), [
    (["ok", "bad\ttab"], "control character"),
    (["a\x00"], "control character"),
    (["line\nbreak"], "control character"),
    ([" "], "must not be empty"),
    (["t" * 256], "longer than 255"),
    ([f"t{i}" for i in range(fields.MAX_TAGS_PER_BOOKMARK + 1)], "at most 100 tags"),
])
def test_clean_tags_refuses_what_the_api_refuses(names: list[str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        fields.clean_tags(names)


def test_clean_tags_drops_case_insensitive_duplicates_keeping_the_first_spelling() -> None:
    assert fields.clean_tags([" Python ", "python", "É", "é"]) == ["Python", "É", "é"]
