"""A browser file's order and keywords (SHORTCUTURL) survive import and both exports (issue 13)."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import orjson
from sqlalchemy import text
from transfer_data import FIXTURES, whole_database

from domain.transfer import export_json, export_netscape, import_file

FIREFOX = "firefox_keywords.html"


class Outline(HTMLParser):
    """A Netscape file as its entries in document order: (depth, "folder" or "link", title, keyword)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[int, str, str, str | None]] = []
        self.depth = 0
        self._open: tuple[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "dl":
            self.depth += 1
        elif tag == "h3":
            self._open, self._text = ("folder", None), []
        elif tag == "a" and not attrs["href"].startswith("place:"):  # Kura keeps no smart folders
            self._open, self._text = ("link", attrs.get("shortcuturl")), []

    def handle_endtag(self, tag):
        if tag == "dl":
            self.depth -= 1
        elif tag in ("h3", "a") and self._open is not None:
            kind, keyword = self._open
            self.entries.append((self.depth, kind, "".join(self._text).strip(), keyword))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)


def outline(html: str) -> list[tuple[int, str, str, str | None]]:
    parser = Outline()
    parser.feed(html)
    return parser.entries


def exported(exporter, db, user_id: int) -> bytes:
    return b"".join(exporter(db, user_id=user_id))


def stored(db, user_id: int) -> dict[str, tuple[int | None, str | None]]:
    with db.read_session() as session:
        rows = session.execute(text("SELECT title, position, keyword FROM bookmarks WHERE user_id = :u"),
                               {"u": user_id}).all()
    return {title: (position, keyword) for title, position, keyword in rows}


def test_a_firefox_file_comes_back_out_in_its_own_order_with_its_keywords(db, alice, import_fixture) -> None:
    result = import_fixture(FIREFOX, user_id=alice.user_id)
    assert (result.created, result.skipped) == (10, 1)  # the place: link is no bookmark
    original = outline((FIXTURES / FIREFOX).read_text(encoding="utf-8"))
    html = exported(export_netscape, db, alice.user_id).decode()
    assert outline(html) == original
    # Bookmarks and folders interleave, and file order is not oldest first: both are the file's.
    assert [title for depth, _, title, _ in original if depth == 1][:3] == [
        "MDN search", "Mozilla Firefox", "Python docs search"]


def test_the_import_stores_each_entrys_place_in_its_folder_and_its_keyword(db, alice, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    places = stored(db, alice.user_id)
    # Folders count: Reading holds WITH (0), Papers & Talks (1), LWN.net (2).
    assert places["The WITH Clause"] == (0, None) and places["LWN.net"] == (2, None)
    assert places["Hacker News"] == (3, "hn") and places["MDN search"] == (0, "mdn")
    with db.read_session() as session:
        folders = dict(session.execute(text("SELECT name, position FROM collections WHERE user_id = :u"),
                                       {"u": alice.user_id}).all())
    assert folders == {"Mozilla Firefox": 1, "Bookmarks Toolbar": 3, "Reading": 1, "Papers & Talks": 1,
                       "Other Bookmarks": 4}


def test_the_json_export_round_trip_keeps_positions_and_keywords(db, alice, bob, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    doc = orjson.loads(exported(export_json, db, alice.user_id))
    assert {b["title"]: b["keyword"] for b in doc["bookmarks"]}["arXiv author"] == "arxiv"
    result = import_file(db, user_id=bob.user_id, source=io.BytesIO(orjson.dumps(doc)))
    assert (result.created, result.skipped) == (10, 0)
    assert stored(db, bob.user_id) == stored(db, alice.user_id)
    assert exported(export_netscape, db, bob.user_id) == exported(export_netscape, db, alice.user_id)


def test_a_json_file_without_positions_or_keywords_still_imports(db, alice, bob, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    doc = orjson.loads(exported(export_json, db, alice.user_id))
    for bookmark in doc["bookmarks"]:
        del bookmark["position"], bookmark["keyword"]
    result = import_file(db, user_id=bob.user_id, source=io.BytesIO(orjson.dumps(doc)))
    assert (result.created, result.skipped) == (10, 0)
    assert set(stored(db, bob.user_id).values()) == {(None, None)}


def test_a_reimport_of_the_same_file_reports_every_bookmark_unchanged(db, alice, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    before = whole_database(db)
    again = import_fixture(FIREFOX, user_id=alice.user_id)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert whole_database(db) == before


def test_a_newer_entry_moves_its_bookmark_and_changes_its_keyword(db, alice, import_fixture, import_bytes) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    html = (FIXTURES / FIREFOX).read_text(encoding="utf-8")
    hn = ('<DT><A HREF="https://news.ycombinator.com/" ADD_DATE="1650000000" LAST_MODIFIED="1650000001" '
          'SHORTCUTURL="hn">Hacker News</A>\n')
    moved = hn.replace('"1650000001" SHORTCUTURL="hn"', '"1700009999" SHORTCUTURL="news"')
    end = "    </DL><p>\n</DL>"  # the end of Other Bookmarks, the last folder
    html = html.replace(hn, "").replace(end, f"        {moved}{end}")
    result = import_bytes(html.encode(), user_id=alice.user_id)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 9)
    assert stored(db, alice.user_id)["Hacker News"] == (2, "news")
    other = [entry for entry in outline(exported(export_netscape, db, alice.user_id).decode()) if entry[0] == 2][-3:]
    assert other == [(2, "link", "Read later", None), (2, "link", "Read earlier", None),
                     (2, "link", "Hacker News", "news")]


def test_bookmarks_the_api_made_follow_the_placed_ones_oldest_first(db, alice, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id)
    with db.write_session() as session:
        for title, created in (("Newer, no place", 1_700_000_000_000_000), ("Older, no place", 1_000_000)):
            session.execute(text(
                "INSERT INTO bookmarks (user_id, url, title, collection_id, created_at, modified_at) "
                "SELECT :u, :url, :t, id, :c, :c FROM collections WHERE name = 'Reading'"),
                {"u": alice.user_id, "url": f"https://example.net/{created}", "t": title, "c": created})
    reading = [title for depth, _, title, _ in outline(exported(export_netscape, db, alice.user_id).decode())
               if depth == 3]
    assert reading == ["The WITH Clause", "Papers & Talks", "LWN.net", "Older, no place", "Newer, no place"]


def test_folders_as_tags_keep_no_place(db, alice, import_fixture) -> None:
    import_fixture(FIREFOX, user_id=alice.user_id, folders_as_tags=True)
    assert {position for position, _ in stored(db, alice.user_id).values()} == {None}
    assert stored(db, alice.user_id)["arXiv author"] == (None, "arxiv")


def test_a_keyword_with_a_control_character_or_over_its_cap_skips_the_entry(db, alice, import_bytes) -> None:
    html = (FIXTURES / FIREFOX).read_text(encoding="utf-8")
    html = html.replace('SHORTCUTURL="hn"', 'SHORTCUTURL="h&#10;n"').replace('SHORTCUTURL="rs"',
                                                                              f'SHORTCUTURL="{"r" * 256}"')
    result = import_bytes(html.encode(), user_id=alice.user_id)
    assert result.created == 8
    reasons = sorted(e["reason"].split(":")[0] for e in result.errors)
    assert reasons == ["keyword contains a control character (such as a line break or NUL)",
                       "keyword is longer than 255 characters", "place"]
