"""Exports stream in batches, and an export imported into an empty user reproduces it exactly."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import orjson
import pytest
from sqlalchemy import text
from transfer_data import every_field, populate, snapshot

from domain.fields import BOOKMARK_COLUMNS
from domain.transfer import export_json, export_netscape, import_file
from domain.transfer import exporter
from domain.transfer.exporter import bookmark_batches


def export_bytes(exporter, db, user_id: int) -> bytes:
    return b"".join(exporter(db, user_id=user_id))


def test_json_round_trip_reproduces_every_bookmark_tag_collection_and_date(db, alice, bob) -> None:
    populate(db, user_id=alice.user_id, count=60)
    data = export_bytes(export_json, db, alice.user_id)
    result = import_file(db, user_id=bob.user_id, source=io.BytesIO(data))
    assert (result.created, result.updated, result.skipped) == (60, 0, 0)
    original, copy = snapshot(db, user_id=alice.user_id), snapshot(db, user_id=bob.user_id)
    assert copy == original
    assert "unused" in copy["tags"] and any(b[3] for b in copy["bookmarks"])  # notes and unused tags too
    assert any(b[8] % 1_000_000 for b in copy["bookmarks"])  # sub-second dates survived


def test_json_round_trip_keeps_every_field_of_the_field_list(db, alice, bob) -> None:
    populate(db, user_id=alice.user_id, count=60)
    original = every_field(db, user_id=alice.user_id)
    # A field that holds one value on every bookmark would pass even when dropped: populate varies each.
    assert [c for c in BOOKMARK_COLUMNS if len({repr(b[c]) for b in original}) < 2] == []
    import_file(db, user_id=bob.user_id, source=io.BytesIO(export_bytes(export_json, db, alice.user_id)))
    assert every_field(db, user_id=bob.user_id) == original


def test_netscape_round_trip_keeps_what_the_format_carries(db, alice, bob) -> None:
    populate(db, user_id=alice.user_id, count=60)
    data = export_bytes(export_netscape, db, alice.user_id)
    result = import_file(db, user_id=bob.user_id, source=io.BytesIO(data))
    assert (result.created, result.skipped) == (60, 0)

    def carried(snap):  # Netscape dates are whole seconds; it has no notes, archived flag or unused tags
        return {
            "collections": [(path, pos, created // 1_000_000) for path, pos, created in snap["collections"]],
            "bookmarks": sorted((url, title, desc, unread, private, path, created // 1_000_000,
                                 modified // 1_000_000, tags)
                                for url, title, desc, _, unread, _, private, path, created, modified, tags
                                in snap["bookmarks"]),
        }

    assert carried(snapshot(db, user_id=bob.user_id)) == carried(snapshot(db, user_id=alice.user_id))


def test_netscape_export_is_the_shape_browsers_import(db, alice) -> None:
    populate(db, user_id=alice.user_id, count=8)
    html = export_bytes(export_netscape, db, alice.user_id).decode()
    assert html.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">' in html
    assert "<DT><H3 ADD_DATE=" in html and "Work &amp; Play</H3>" in html
    assert "Crème brûlée &amp; &lt;friends&gt;" in html
    assert 'HREF="https://example.com/0/p?q=a&amp;b=0"' in html
    assert 'TOREAD="1"' in html and 'PRIVATE="1"' in html and 'TAGS="python,Web Dev"' in html
    assert "<DD>line one of 1 &amp; &lt;b&gt;bold&lt;/b&gt;\nline two" in html

    class Balance(HTMLParser):
        depth = deepest = 0

        def handle_starttag(self, tag, attrs):
            if tag == "dl":
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)

        def handle_endtag(self, tag):
            if tag == "dl":
                self.depth -= 1

    checker = Balance()
    checker.feed(html)
    assert (checker.depth, checker.deepest) == (0, 4)  # root + three nested folders, every list closed


def test_exports_stream_in_batches_by_keyset(db, alice) -> None:
    populate(db, user_id=alice.user_id, count=1200, nested=False)
    with db.read_session() as session:
        batches = list(bookmark_batches(session.connection(), user_id=alice.user_id, batch=500))
    assert [len(b) for b in batches] == [500, 500, 200]
    created = [(b["created_at"], b["id"]) for batch in batches for b in batch]
    assert created == sorted(created) and len(set(created)) == 1200
    chunks = list(export_json(db, user_id=alice.user_id))
    assert len(chunks) >= 4 and max(len(c) for c in chunks) < sum(len(c) for c in chunks) / 2
    doc = orjson.loads(b"".join(chunks))
    assert len(doc["bookmarks"]) == 1200 and doc["format"] == "kura-bookmarks"


@pytest.mark.parametrize("write", [export_json, export_netscape])
@pytest.mark.parametrize("read_all", [True, False])
def test_an_export_reads_through_a_small_page_cache_and_gives_the_connection_its_own_back(
        db, alice, monkeypatch, write, read_all) -> None:
    populate(db, user_id=alice.user_id, count=30, nested=False)
    real, seen = exporter.bookmark_batches, []

    def spy(conn, **kwargs):  # the cache while the export reads, and the driver connection it reads on
        seen.append((conn.exec_driver_sql("PRAGMA cache_size").scalar(), conn.connection.driver_connection))
        yield from real(conn, **kwargs)

    monkeypatch.setattr(exporter, "bookmark_batches", spy)
    with db.read_session() as session:
        default = session.execute(text("PRAGMA cache_size")).scalar()
    chunks = write(db, user_id=alice.user_id)
    if read_all:
        assert b"".join(chunks)
    else:  # the client went away after the first bookmarks: the stream is closed half-way
        while not seen:
            next(chunks)
        chunks.close()
    during, raw = seen[0]
    assert during == -exporter.EXPORT_CACHE_KIB != default
    assert raw.execute("PRAGMA cache_size").fetchone()[0] == default


def test_an_export_holds_only_its_own_users_bookmarks(db, alice, bob) -> None:
    populate(db, user_id=alice.user_id, count=5)
    assert orjson.loads(export_bytes(export_json, db, bob.user_id))["bookmarks"] == []
    assert b"example.com" not in export_bytes(export_netscape, db, bob.user_id)


def test_a_reimport_of_an_export_into_the_same_user_creates_and_updates_nothing(db, alice) -> None:
    populate(db, user_id=alice.user_id, count=30)
    before = snapshot(db, user_id=alice.user_id)
    for exporter in (export_json, export_netscape):
        result = import_file(db, user_id=alice.user_id, source=io.BytesIO(export_bytes(exporter, db, alice.user_id)))
        assert (result.created, result.updated, result.unchanged) == (0, 0, 30)
    assert snapshot(db, user_id=alice.user_id) == before


def test_the_json_export_names_fields_as_the_bookmark_api_answers(db, alice) -> None:
    populate(db, user_id=alice.user_id, count=3)
    doc = orjson.loads(export_bytes(export_json, db, alice.user_id))
    assert doc["version"] == 2
    assert set(doc["bookmarks"][0]) == {"url", "title", "description", "notes", "tags", "collection", "unread",
                                        "archived", "private", "created", "modified",
                                        "position", "keyword"}  # the two a browser file adds
    assert set(doc["collections"][0]) == {"id", "parent_id", "name", "position", "created"}


def test_a_version_1_export_with_the_old_field_names_still_imports_exactly(db, alice, bob) -> None:
    populate(db, user_id=alice.user_id, count=12)
    doc = orjson.loads(export_bytes(export_json, db, alice.user_id))
    old_names = {"created": "created_at", "modified": "modified_at", "collection": "collection_id"}
    doc["version"] = 1
    doc["bookmarks"] = [{old_names.get(k, k): v for k, v in b.items()} for b in doc["bookmarks"]]
    doc["collections"] = [{old_names.get(k, k): v for k, v in c.items()} for c in doc["collections"]]
    result = import_file(db, user_id=bob.user_id, source=io.BytesIO(orjson.dumps(doc)))
    assert (result.created, result.skipped) == (12, 0)
    assert snapshot(db, user_id=bob.user_id) == snapshot(db, user_id=alice.user_id)


def test_the_netscape_export_marks_the_browsers_toolbar_folder_again(db, alice, import_fixture) -> None:
    for name in ("chrome.html", "firefox.html"):
        import_fixture(name, user_id=alice.user_id)
    html = export_bytes(export_netscape, db, alice.user_id).decode()
    marked = [line.strip() for line in html.splitlines() if "PERSONAL_TOOLBAR_FOLDER" in line]
    assert [line.rsplit('">', 1)[-1] for line in marked] == ["Bookmarks bar</H3>", "Bookmarks Toolbar</H3>"]
    assert all(line.startswith('<DT><H3 ADD_DATE="') and 'PERSONAL_TOOLBAR_FOLDER="true"' in line for line in marked)


def test_a_netscape_export_of_collections_nested_two_thousand_deep_streams_without_recursion(db, alice) -> None:
    with db.write_session() as session:
        conn, parent = session.connection(), None
        for level in range(2000):
            parent = conn.execute(text("INSERT INTO collections (user_id, parent_id, name, position, created_at) "
                                       "VALUES (:u, :p, :n, 0, 0)"), {"u": alice.user_id, "p": parent,
                                                                     "n": f"level {level}"}).lastrowid
        conn.execute(text("INSERT INTO bookmarks (user_id, url, title, collection_id, created_at, modified_at) "
                          "VALUES (:u, 'https://deep.example/', 'deep', :c, 0, 0)"), {"u": alice.user_id, "c": parent})
    html = export_bytes(export_netscape, db, alice.user_id).decode()
    assert html.count("<DL><p>") == html.count("</DL><p>") == 2001
    assert html.index("level 1999</H3>") < html.index("https://deep.example/")
