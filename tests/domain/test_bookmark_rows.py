"""The hot read path's SQL gives exactly what the API's models would have given."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from sqlalchemy import text

from api.routes.bookmarks import BookmarkOut
from common.sqlite import sqlite3
from domain import bookmark_rows
from domain.bookmark_rows import iso_utc
from common.db import Database
from domain.fields import tag_key
from domain.models import from_micros

EDGES = [0, 1, 999_999, 1_000_000, -1, -999_999, -1_000_000, -1_000_001, 1_764_000_000_000_000,
         1_764_000_000_123_456, 253_402_300_799_999_999]  # the last: 9999-12-31T23:59:59.999999Z


@pytest.mark.parametrize("micros", EDGES)
def test_times_are_written_in_sql_as_the_api_writes_them(micros: int) -> None:
    with sqlite3.connect(":memory:") as conn:
        in_sql = conn.execute(f"SELECT {iso_utc('?1')}", (micros,)).fetchone()[0]
    assert in_sql == orjson.loads(orjson.dumps(from_micros(micros), option=orjson.OPT_UTC_Z))


TEXTS = ["plain", "", 'quote " and \\ backslash', "naïve café ☕ 😀", "tab\tnew\nline\rcr\x08\x0c",
         "\x00\x01\x1f\x7f", "\u2028\u2029\ufeff", "<b>&amp;</b>"]
TAG_SETS = [["web", "Python", "db", "ZED", "api"], ["Élan", "ebay", "Zulu", "éclair", "apple", "Ärger"],
            ["b"], []]  # non-ASCII: NOCASE folds A-Z only


def _insert(db: Database, number: int, tags: list[str]) -> int:
    words = TEXTS[number % len(TEXTS)]
    micros = EDGES[number % len(EDGES)]
    with db.write_session() as session:
        bookmark_id = session.execute(text(
            "INSERT INTO bookmarks (user_id, url, title, description, notes, unread, archived, private,"
            " collection_id, created_at, modified_at) VALUES (1, :url, :title, :words, :notes, :a, :b, :c,"
            " :collection, :created, :modified) RETURNING id"),
            {"url": f"https://example.org/{number}?q=\"{words}\"", "title": words, "words": words * 2,
             "notes": TEXTS[(number + 3) % len(TEXTS)], "a": number % 2, "b": number % 3 == 0,
             "c": number % 5 == 0, "collection": 1 if number % 2 else None, "created": micros,
             "modified": EDGES[(number + 1) % len(EDGES)]}).scalar_one()
        for name in tags:
            tag_id = session.execute(text("INSERT INTO tags (user_id, name) VALUES (1, :n) ON CONFLICT DO UPDATE"
                                          " SET name = name RETURNING id"), {"n": name}).scalar_one()
            session.execute(text("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (:b, :t)"),
                            {"b": bookmark_id, "t": tag_id})
    return bookmark_id


def _expected(db: Database, bookmark_id: int, tags: list[str]) -> bytes:
    """What FastAPI's response model writes for the row (the ORM's values, pydantic's JSON)."""
    with db.read_session() as session:
        row = session.execute(text("SELECT * FROM bookmarks WHERE id = :id"), {"id": bookmark_id}).mappings().one()
    out = BookmarkOut(id=row["id"], url=row["url"], title=row["title"], description=row["description"],
                      notes=row["notes"], tags=sorted(tags, key=tag_key), collection=row["collection_id"],
                      unread=row["unread"], archived=row["archived"], private=row["private"],
                      created=from_micros(row["created_at"]), modified=from_micros(row["modified_at"]))
    assert isinstance(out.created, datetime)
    return out.model_dump_json().encode()


@pytest.fixture
def owner(db: Database) -> None:
    with db.write_session() as session:
        session.execute(text("INSERT INTO users (name, is_admin, created_at) VALUES ('a', 0, 0)"))
        session.execute(text("INSERT INTO collections (user_id, name, position, created_at) VALUES (1, 'c', 0, 0)"))


@pytest.mark.parametrize("number", range(len(TEXTS) * 2))
def test_the_stored_json_is_the_bytes_the_response_model_writes(db: Database, owner: None, number: int) -> None:
    tags = TAG_SETS[number % len(TAG_SETS)]
    bookmark_id = _insert(db, number, tags)
    with db.read_session() as session:
        stored = session.connection().exec_driver_sql(bookmark_rows.ONE, (bookmark_id, 1)).one()
    assert stored[1].encode() == _expected(db, bookmark_id, tags)
    assert orjson.dumps(bookmark_rows.to_fragments([stored])) == b"[" + stored[1].encode() + b"]"
    assert bookmark_rows.to_dicts([stored]) == [orjson.loads(_expected(db, bookmark_id, tags))]


@pytest.mark.parametrize("number", range(len(TEXTS) * 2))
def test_the_json_made_in_python_for_a_bulk_insert_is_the_stored_json(db: Database, owner: None,
                                                                      number: int) -> None:
    tags = TAG_SETS[number % len(TAG_SETS)]
    bookmark_id = _insert(db, number, tags)
    with db.read_session() as session:
        row = session.execute(text("SELECT * FROM bookmarks WHERE id = :id"), {"id": bookmark_id}).mappings().one()
    made = bookmark_rows.answer_text(
        bookmark_id=row["id"], url=row["url"], title=row["title"], description=row["description"],
        notes=row["notes"], tags=reversed(tags), collection=row["collection_id"], unread=bool(row["unread"]),
        archived=bool(row["archived"]), private=bool(row["private"]), created_at=row["created_at"],
        modified_at=row["modified_at"])
    assert made == row["api_json"]


def test_a_renamed_tag_is_renamed_in_every_stored_answer_and_sorted_again(db: Database, owner: None) -> None:
    first, second = _insert(db, 1, ["alpha", "mid"]), _insert(db, 2, ["alpha"])
    with db.write_session() as session:
        session.execute(text("UPDATE tags SET name = 'zulu' WHERE name = 'alpha'"))
    with db.read_session() as session:
        assert bookmark_rows.stale_rows(bookmark_rows.session_sql(session)) == []
        stored = dict(session.execute(text("SELECT id, api_json FROM bookmarks")).all())
    assert orjson.loads(stored[first])["tags"] == ["mid", "zulu"]
    assert orjson.loads(stored[second])["tags"] == ["zulu"]


def test_a_row_changed_behind_the_triggers_back_is_reported_stale(db: Database, owner: None) -> None:
    bookmark_id = _insert(db, 1, ["a"])
    with db.write_session() as session:
        session.execute(text("UPDATE bookmarks SET api_json = '{}' WHERE id = :id"), {"id": bookmark_id})
        assert bookmark_rows.stale_rows(bookmark_rows.session_sql(session)) == [bookmark_id]


def _tag_sets(db: Database, bookmark_id: int) -> list[list[int]]:
    """Each of the bookmark's links' copy of its tag set, as sorted ids."""
    with db.read_session() as session:
        stored = session.execute(text("SELECT tag_ids FROM bookmark_tags WHERE bookmark_id = :b"),
                                 {"b": bookmark_id}).scalars().all()
    return [sorted(int(i) for i in s.strip(",").split(",")) for s in stored]


def _tag(db: Database, name: str) -> int:
    with db.read_session() as session:
        return session.execute(text("SELECT id FROM tags WHERE name = :n"), {"n": name}).scalar_one()


def test_every_link_carries_its_bookmarks_whole_tag_set_through_every_kind_of_write(db: Database, owner: None) -> None:
    first, second = _insert(db, 1, ["a", "b", "c"]), _insert(db, 2, ["b"])
    a, b, c = _tag(db, "a"), _tag(db, "b"), _tag(db, "c")
    assert _tag_sets(db, first) == [sorted([a, b, c])] * 3
    writes = [
        "INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (:second, :a)",  # a link added
        "DELETE FROM bookmark_tags WHERE bookmark_id = :first AND tag_id = :b",  # a link removed
        "UPDATE bookmark_tags SET tag_id = :b WHERE bookmark_id = :first AND tag_id = :c",  # a tag merged
        "DELETE FROM tags WHERE id = :a",  # a tag deleted: its links go by the cascade
    ]
    expected = [([a, b, c], [a, b]), ([a, c], [a, b]), ([a, b], [a, b]), ([b], [b])]
    for sql, (on_first, on_second) in zip(writes, expected, strict=True):
        with db.write_session() as session:
            session.execute(text(sql), {"first": first, "second": second, "a": a, "b": b, "c": c})
        assert _tag_sets(db, first) == [sorted(on_first)] * len(on_first), sql
        assert _tag_sets(db, second) == [sorted(on_second)] * len(on_second), sql
        with db.read_session() as session:
            assert bookmark_rows.stale_rows(bookmark_rows.session_sql(session)) == [], sql


def test_a_link_tag_set_changed_behind_the_triggers_back_is_reported_stale(db: Database, owner: None) -> None:
    bookmark_id = _insert(db, 1, ["a", "b"])
    with db.write_session() as session:
        session.execute(text("UPDATE bookmark_tags SET tag_ids = ',1,' WHERE bookmark_id = :b AND tag_id = :t"),
                        {"b": bookmark_id, "t": _tag(db, "b")})
        assert bookmark_rows.stale_rows(bookmark_rows.session_sql(session)) == [bookmark_id]
