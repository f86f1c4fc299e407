"""Importing into the database: folders as collections, merging, bulk statements, all-or-nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from transfer_data import FIXTURES, snapshot, whole_database

from domain.bookmark_rows import session_sql, stale_rows
from common.db import Database
from common.settings import Settings
from domain.transfer import StrictImportFailed, store


def titles_by_url(db: Database, user_id: int) -> dict[str, str]:
    with db.read_session() as session:
        return dict(session.execute(text("SELECT url, title FROM bookmarks WHERE user_id = :u"),
                                    {"u": user_id}).all())


def test_firefox_import_keeps_folders_as_nested_collections(db, alice, import_fixture) -> None:
    result = import_fixture("firefox.html", user_id=alice.user_id)
    assert (result.created, result.updated, result.skipped) == (7, 0, 2)
    snap = snapshot(db, user_id=alice.user_id)
    paths = [path for path, _, _ in snap["collections"]]
    assert paths == sorted([
        ("Mozilla Firefox",), ("Bookmarks Toolbar",), ("Bookmarks Toolbar", "Reading & Research"),
        ("Bookmarks Toolbar", "Reading & Research", "日本語"), ("Bookmarks Toolbar", "Empty folder"),
        ("Other Bookmarks",),
    ])
    by_url = {b[0]: b for b in snap["bookmarks"]}
    wiki = next(b for url, b in by_url.items() if "ja.wikipedia.org" in url)
    assert wiki[7] == ("Bookmarks Toolbar", "Reading & Research", "日本語")
    assert by_url["https://www.sqlite.org/lang_with.html"][10] == ("sql", "sqlite")


def test_place_and_javascript_links_are_skipped_and_reported_with_their_line(alice, import_fixture) -> None:
    result = import_fixture("firefox.html", user_id=alice.user_id)
    assert [(e["line"], e["reason"].split(":")[0]) for e in result.errors] == [(24, "place"), (33, "javascript")]


def test_a_bookmark_without_a_title_takes_its_url(db, alice, import_fixture) -> None:
    import_fixture("firefox.html", user_id=alice.user_id)
    assert titles_by_url(db, alice.user_id)["https://example.org/no-title"] == "https://example.org/no-title"


def test_urls_are_normalised_and_microsecond_dates_kept(db, alice, import_fixture) -> None:
    import_fixture("firefox.html", user_id=alice.user_id)
    with db.read_session() as session:
        row = session.execute(text("SELECT created_at, modified_at FROM bookmarks WHERE url = :u"),
                              {"u": "https://example.com/Path?q=1"}).one()
    assert tuple(row) == (1_700_000_500_000_000, 1_700_000_500_123_456)


def test_reimport_creates_nothing_new_and_counts_the_unchanged_apart(db, alice, import_fixture) -> None:
    import_fixture("chrome.html", user_id=alice.user_id)
    before = whole_database(db)
    again = import_fixture("chrome.html", user_id=alice.user_id)
    # 5 bookmarks as they were; the URL the file holds twice is merged again, which counts as updated.
    assert (again.created, again.updated, again.unchanged) == (0, 1, 5)
    assert whole_database(db) == before


def test_the_same_url_twice_in_one_file_is_merged_into_one_bookmark(db, alice, import_fixture) -> None:
    result = import_fixture("chrome.html", user_id=alice.user_id)
    assert (result.created, result.updated) == (5, 1)
    # The later copy is newer, so its title and folder win.
    assert titles_by_url(db, alice.user_id)["https://github.com/"] == "GitHub (again, in another folder)"


def page(*rows: str) -> bytes:
    return ("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n" + "\n".join(rows) + "\n</DL><p>\n").encode()


def test_merge_unites_tags_and_keeps_the_newer_fields(db, alice, import_bytes) -> None:
    import_bytes(page('<DT><A HREF="https://a.example/" ADD_DATE="200" LAST_MODIFIED="300" TAGS="one">Old</A>',
                      "<DD>old words",
                      '<DT><A HREF="https://b.example/" ADD_DATE="200" LAST_MODIFIED="300" TAGS="one">Keep</A>'),
                 user_id=alice.user_id)
    result = import_bytes(page(
        '<DT><A HREF="https://a.example" ADD_DATE="100" LAST_MODIFIED="400" TOREAD="1" TAGS="two,ONE">New</A>',
        '<DT><A HREF="https://b.example/" ADD_DATE="250" LAST_MODIFIED="250" TAGS="three">Older</A>'),
        user_id=alice.user_id)
    assert (result.created, result.updated) == (0, 2)
    snap = {b[0]: b for b in snapshot(db, user_id=alice.user_id)["bookmarks"]}
    url, title, desc, _, unread, _, _, _, created, modified, tags = snap["https://a.example/"]
    assert (title, desc, unread, created, modified) == ("New", "old words", True, 100_000_000, 400_000_000)
    assert tags == ("one", "two")  # ONE is the same tag as one
    _, title, _, _, _, _, _, _, created, modified, tags = snap["https://b.example/"]
    assert (title, created, modified, tags) == ("Keep", 200_000_000, 300_000_000, ("one", "three"))


def test_folders_as_tags_turns_the_folder_path_into_tags_without_the_browser_roots(db, alice, import_fixture) -> None:
    import_fixture("chrome.html", user_id=alice.user_id, folders_as_tags=True)
    snap = snapshot(db, user_id=alice.user_id)
    assert snap["collections"] == []
    deploy = next(b for b in snap["bookmarks"] if "systemd" in b[0])
    assert deploy[7] == () and deploy[10] == ("Deploy", "Work")
    assert not {"Bookmarks bar", "Other bookmarks"} & {tag for b in snap["bookmarks"] for tag in b[10]}


def test_reimport_matches_existing_collections_by_parent_and_name(db, alice, import_fixture) -> None:
    import_fixture("safari.html", user_id=alice.user_id)
    import_fixture("safari.html", user_id=alice.user_id)
    assert len(snapshot(db, user_id=alice.user_id)["collections"]) == 4


def test_imports_are_per_user(db, alice, bob, import_fixture) -> None:
    import_fixture("chrome.html", user_id=alice.user_id)
    result = import_fixture("chrome.html", user_id=bob.user_id)
    assert result.created == 5
    assert snapshot(db, user_id=alice.user_id)["bookmarks"] == snapshot(db, user_id=bob.user_id)["bookmarks"]


def test_imported_bookmarks_are_found_by_full_text_search(db, alice, import_fixture) -> None:
    import_fixture("safari.html", user_id=alice.user_id)
    with db.read_session() as session:
        urls = session.execute(text("SELECT b.url FROM bookmarks_fts f JOIN bookmarks b ON b.id = f.rowid "
                                    "WHERE bookmarks_fts MATCH 'crepes'")).scalars().all()
    assert urls == ["https://www.marmiton.org/recettes/recette_crepes.aspx"]


def test_invalid_and_overlong_entries_are_skipped_and_the_rest_imports(db, alice, import_bytes) -> None:
    result = import_bytes(page('<DT><A HREF="https://ok.example/">fine</A>',
                               '<DT><A HREF="notaurl">bad</A>',
                               f'<DT><A HREF="https://desc.example/">d</A><DD>{"x" * 70000}',
                               f'<DT><A HREF="https://tag.example/" TAGS="{"t" * 300}">t</A>'),
                          user_id=alice.user_id)
    assert (result.created, result.skipped) == (1, 3)
    assert [e["line"] for e in result.errors] == [4, 5, 6]
    assert "not bookmarkable" in result.errors[0]["reason"]


def test_an_overlong_title_is_cut_with_an_ellipsis_and_reported(db, alice, import_bytes) -> None:
    result = import_bytes(page('<DT><A HREF="https://ok.example/">fine</A>',
                               f'<DT><A HREF="https://long.example/">{"x" * 2000}</A>'), user_id=alice.user_id)
    assert (result.created, result.skipped) == (2, 0)
    assert [(a["line"], a["reason"].split(":")[0]) for a in result.adjusted] == [(4, "title cut to 1024 characters")]
    title = snapshot(db, user_id=alice.user_id)["bookmarks"][0][1]
    assert len(title) == 1024 and title.endswith("x…")


def test_strict_mode_rejects_the_whole_file_and_changes_nothing(db, alice, import_bytes, import_fixture) -> None:
    import_fixture("chrome.html", user_id=alice.user_id)
    before = whole_database(db)
    rows = [f'<DT><A HREF="https://n{i}.example/" TAGS="new{i}">n{i}</A>' for i in range(4500)]
    rows.insert(4000, '<DT><A HREF="ftp//broken">broken</A>')  # after two full batches are written
    with pytest.raises(StrictImportFailed) as caught:
        import_bytes(page(*rows), user_id=alice.user_id, mode="strict")
    assert "line 4003" in caught.value.message
    assert whole_database(db) == before


def secondary_indexes(db: Database) -> int:
    with db.read_session() as session:
        return int(session.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql NOT LIKE 'CREATE UNIQUE%'"
            " AND tbl_name IN ('bookmarks', 'bookmark_tags')")).scalar())


def test_an_import_costs_a_few_statements_per_batch_not_one_per_bookmark(db, alice, import_bytes,
                                                                         count_queries) -> None:
    rows = [f'<DT><A HREF="https://q{i}.example/" TAGS="t{i % 50},common">q{i}</A>' for i in range(3000)]
    with count_queries:
        result = import_bytes(page(*rows), user_id=alice.user_id)
    assert result.created == 3000
    # Besides a few per batch: each deferred insert trigger dropped and restored, the version moved
    # once, and (into this empty database) each secondary index dropped and built, and two look-ups.
    fixed = 2 * len(store.DEFERRED) + 1 + 2 * secondary_indexes(db) + 2
    assert count_queries.count <= 30 + fixed, count_queries.statements


def test_a_failure_midway_leaves_the_database_as_it_was(db, alice, import_bytes, monkeypatch) -> None:
    import_bytes(page('<DT><A HREF="https://kept.example/">kept</A>'), user_id=alice.user_id)
    before = whole_database(db)
    from domain.transfer import store

    real = store.link_tags
    calls = []

    def explode(conn, pairs):  # the second batch's links fail, after the first batch was written
        calls.append(len(pairs))
        if len(calls) == 2:
            raise OSError("disk went away")
        real(conn, pairs)

    monkeypatch.setattr(store, "link_tags", explode)
    with pytest.raises(OSError):
        import_bytes(page(*[f'<DT><A HREF="https://f{i}.example/" TAGS="x">f</A>' for i in range(3000)]),
                     user_id=alice.user_id)
    assert len(calls) == 2
    assert whole_database(db) == before


KILLED_IMPORT = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event
    from common.db import open_database
    from common.settings import load_settings
    from domain.transfer import import_file

    db = open_database(load_settings(data_dir=sys.argv[1]))
    inserts = []

    @event.listens_for(db.engine, "after_cursor_execute")
    def pause(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO bookmarks"):
            inserts.append(1)
            if len(inserts) == 2:  # two batches are in the open transaction: stop here to be killed
                print("midway", flush=True)
                time.sleep(60)

    with open(sys.argv[2], "rb") as source:
        import_file(db, user_id=int(sys.argv[3]), source=source)
""")


def test_an_import_killed_midway_leaves_the_database_unchanged(db, settings: Settings, alice, import_bytes,
                                                             tmp_path: Path) -> None:
    import_bytes(page('<DT><A HREF="https://kept.example/">kept</A>'), user_id=alice.user_id)
    before = whole_database(db)
    big = tmp_path / "big.html"
    big.write_bytes(page(*[f'<DT><A HREF="https://k{i}.example/" TAGS="k">k{i}</A>' for i in range(6000)]))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, str(settings.data_dir), str(big),
                             str(alice.user_id)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"midway\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert whole_database(db) == before
    with db.read_session() as session:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_fixtures_are_real_browser_shapes() -> None:
    # A guard that the fixture files the tests rely on stay what they claim to be.
    for name in ("firefox.html", "chrome.html", "safari.html"):
        assert (FIXTURES / name).read_text(encoding="utf-8").startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")


def test_broken_entries_in_a_kura_json_file_are_skipped_and_named(db, alice, import_bytes) -> None:
    doc = {"format": "kura-bookmarks", "version": 1, "tags": ["spare"],
           "collections": [{"id": 7, "parent_id": None, "name": "Box", "position": 0, "created_at": 5}],
           "bookmarks": [{"url": "https://fine.example/", "collection_id": 7, "tags": ["a"]},
                         {"title": "no url"},
                         {"url": "https://lost.example/", "collection_id": 99}]}
    result = import_bytes(orjson.dumps(doc), user_id=alice.user_id)
    assert (result.created, result.skipped) == (1, 2)
    assert [e["line"] for e in result.errors] == [None, None]
    assert result.errors[0]["reason"].startswith("bookmarks[1]: url:")
    assert result.errors[1]["reason"] == "bookmarks[2]: collection 99 is not in the file"
    snap = snapshot(db, user_id=alice.user_id)
    assert snap["tags"] == ["a", "spare"] and snap["collections"] == [(("Box",), 0, 5)]


def fts_integrity_check(db: Database) -> None:
    """FTS5 compares its index with the bookmarks table and raises if they disagree."""
    with db.write_session() as session:
        session.execute(text("INSERT INTO bookmarks_fts(bookmarks_fts, rank) VALUES ('integrity-check', 1)"))


def test_ids_that_are_not_consecutive_are_looked_up_and_indexed(db, alice, import_bytes) -> None:
    # At the largest rowid SQLite picks new ones at random, so the importer cannot count them.
    with db.write_session() as session:
        session.execute(text("INSERT INTO bookmarks (id, user_id, url, title, created_at, modified_at) "
                             "VALUES (9223372036854775807, :u, 'https://top.example/', 'top', 1, 1)"),
                        {"u": alice.user_id})
    rows = [f'<DT><A HREF="https://r{i}.example/" TAGS="t{i % 3}">rare{i} word</A>' for i in range(50)]
    assert import_bytes(page(*rows), user_id=alice.user_id).created == 50
    snap = {b[0]: b for b in snapshot(db, user_id=alice.user_id)["bookmarks"]}
    assert snap["https://r7.example/"][1] == "rare7 word" and snap["https://r7.example/"][10] == ("t1",)
    fts_integrity_check(db)
    with db.read_session() as session:  # the JSON inserted with them named the ids they did not get
        assert stale_rows(session_sql(session)) == []
    with db.read_session() as session:
        found = session.execute(text("SELECT b.url FROM bookmarks_fts f JOIN bookmarks b ON b.id = f.rowid "
                                     "WHERE bookmarks_fts MATCH 'rare7'")).scalars().all()
    assert found == ["https://r7.example/"]


def test_the_fts_index_is_in_step_after_a_large_import_and_a_merge(db, alice, import_bytes) -> None:
    rows = [f'<DT><A HREF="https://s{i}.example/" LAST_MODIFIED="10">s{i}</A>' for i in range(4500)]
    import_bytes(page(*rows), user_id=alice.user_id)
    import_bytes(page('<DT><A HREF="https://s9.example/" LAST_MODIFIED="20">renamed</A>'), user_id=alice.user_id)
    fts_integrity_check(db)
    with db.read_session() as session:
        found = session.execute(text("SELECT rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH 'renamed'")).all()
    assert len(found) == 1


@pytest.mark.parametrize("fails", [False, True])
def test_the_import_cache_is_given_back_to_the_connection(db, alice, import_bytes, monkeypatch, fails) -> None:
    from domain.transfer import store

    real, seen = store.link_tags, []

    def spy(conn, pairs):  # the cache while the import writes, and the driver connection it writes on
        seen.append((conn.exec_driver_sql("PRAGMA cache_size").scalar(), conn.connection.driver_connection))
        if fails:
            raise OSError("disk went away")
        real(conn, pairs)

    monkeypatch.setattr(store, "link_tags", spy)
    with db.read_session() as session:
        default = session.execute(text("PRAGMA cache_size")).scalar()
    try:
        import_bytes(page('<DT><A HREF="https://c.example/" TAGS="x">c</A>'), user_id=alice.user_id)
    except OSError:
        assert fails
    [(during, raw)] = seen
    assert during == -store.IMPORT_CACHE_KIB
    assert raw.execute("PRAGMA cache_size").fetchone()[0] == default
