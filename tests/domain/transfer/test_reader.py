"""The Netscape reader and the format sniffer, on the shapes browsers really export."""

from __future__ import annotations

import io

import pytest
from transfer_data import FIXTURES

from domain.transfer.entries import BadFile, Entry, EntryError, Folder, parse_timestamp
from domain.transfer.reader import read_items


def items_of(data: bytes) -> list:
    return list(read_items(io.BytesIO(data)))


def fixture_items(name: str) -> list:
    with open(FIXTURES / name, "rb") as source:
        return list(read_items(source))


def entries(items: list) -> dict[str, Entry]:
    return {item.url: item for item in items if isinstance(item, Entry)}


def test_firefox_folders_become_paths_including_the_toolbar_and_empty_folders() -> None:
    folders = [item.path for item in fixture_items("firefox.html") if isinstance(item, Folder)]
    assert folders == [
        ("Mozilla Firefox",),
        ("Bookmarks Toolbar",),
        ("Bookmarks Toolbar", "Reading & Research"),
        ("Bookmarks Toolbar", "Reading & Research", "日本語"),
        ("Bookmarks Toolbar", "Empty folder"),
        ("Other Bookmarks",),
    ]


def test_firefox_entries_keep_tags_dates_entities_and_multiline_descriptions() -> None:
    found = entries(fixture_items("firefox.html"))
    doc = found["https://docs.python.org/3/library/html.parser.html"]
    assert doc.title == "html.parser — Simple HTML and XHTML parser — Python 3 docs"
    assert doc.tags == ["python", "parsing"]
    assert doc.created == 1_700_000_000_000_000 and doc.modified == 1_700_000_100_000_000
    assert doc.description == "The <HTMLParser> class & its\n    callbacks, explained — über nützlich."
    assert doc.folder == () and doc.line == 17
    deep = found["https://ja.wikipedia.org/wiki/%E3%83%96%E3%83%83%E3%82%AF%E3%83%9E%E3%83%BC%E3%82%AF"]
    assert deep.title == "ブックマーク - Wikipedia"
    assert deep.folder == ("Bookmarks Toolbar", "Reading & Research", "日本語")


def test_microsecond_dates_are_kept_exactly() -> None:
    micro = entries(fixture_items("firefox.html"))["HTTPS://Example.COM:443/Path?q=1"]
    assert micro.created == 1_700_000_500_000_000
    assert micro.modified == 1_700_000_500_123_456


def test_a_missing_title_reads_as_empty_and_the_folder_description_is_not_a_bookmarks() -> None:
    found = entries(fixture_items("firefox.html"))
    assert found["https://example.org/no-title"].title == ""
    assert all("Bookmarks Toolbar" not in e.description for e in found.values())


def test_chrome_nested_folders_and_icon_attributes() -> None:
    items = fixture_items("chrome.html")
    found = entries(items)
    assert found["https://www.freedesktop.org/software/systemd/man/systemd.service.html"].folder == (
        "Bookmarks bar", "Work", "Deploy")
    assert found["https://news.ycombinator.com/"].folder == ("Bookmarks bar",)
    assert found["https://www.example.com/caf%C3%A9"].title == "Café & Crêpes <Paris>"
    assert ("Other bookmarks", "Empty") in [i.path for i in items if isinstance(i, Folder)]


def test_safari_reading_list_marks_unread_and_needs_no_outer_list() -> None:
    found = entries(fixture_items("safari.html"))
    wal = found["https://www.sqlite.org/wal.html"]
    assert wal.unread is True and wal.folder == ("Reading List",)
    assert wal.description.startswith("The default method by which SQLite")
    assert found["https://www.marmiton.org/recettes/recette_crepes.aspx"].folder == ("Bookmarks Menu", "Recettes")
    assert found["https://www.apple.com/"].unread is None and found["https://www.apple.com/"].created is None


def test_pocket_sections_set_unread_and_archived() -> None:
    found = entries(fixture_items("pocket.html"))
    assert found["https://lwn.net/Articles/1/"].unread is True
    assert found["https://lwn.net/Articles/1/"].tags == ["linux", "kernel"]
    assert found["https://jvns.ca/blog/"].archived is True
    assert found["https://jvns.ca/blog/"].created == 1_710_000_100_000_000


def test_flags_and_a_bad_date_and_a_missing_href_are_reported_with_their_line() -> None:
    data = (b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n"
            b'<DT><A HREF="https://a.example/" TOREAD="1" PRIVATE="0">A</A>\n'
            b'<DT><A HREF="https://b.example/" ADD_DATE="yesterday">B</A>\n'
            b"<DT><A>no href</A>\n"
            b'<DT><A HREF="https://c.example/" TOREAD>C</A>\n</DL>\n')
    items = items_of(data)
    errors = [(e.line, e.reason.split(":")[0]) for e in items if isinstance(e, EntryError)]
    assert errors == [(4, "bad date on https"), (5, "the link has no HREF")]
    found = entries(items)
    assert found["https://a.example/"].unread is True and found["https://a.example/"].private is False
    assert found["https://c.example/"].unread is True


def test_a_large_file_streams_in_chunks_with_correct_line_numbers() -> None:
    rows = "".join(f'<DT><A HREF="https://x.example/{i}" ADD_DATE="{1_600_000_000 + i}">T {i}</A>\n'
                   for i in range(5000))
    data = f"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n{rows}</DL><p>\n".encode()
    assert len(data) > 4 * 65536  # several chunks
    found = [item for item in items_of(data) if isinstance(item, Entry)]
    assert len(found) == 5000
    assert (found[4321].url, found[4321].line) == ("https://x.example/4321", 4321 + 3)


def test_timestamps_in_seconds_milliseconds_microseconds_and_nanoseconds_by_magnitude() -> None:
    assert parse_timestamp("1700000000") == 1_700_000_000_000_000
    assert parse_timestamp("1700000000123") == 1_700_000_000_123_000
    assert parse_timestamp("1700000000123456") == 1_700_000_000_123_456
    assert parse_timestamp("1700000000123456789") == 1_700_000_000_123_456
    assert parse_timestamp("99999999999") == 99_999_999_999_000_000  # seconds up to the year 5138
    assert parse_timestamp(" ") is None
    assert parse_timestamp("0") is None  # "unknown": the importer uses the import's time


@pytest.mark.parametrize("raw", ["-5", str(2**63), "99999999999999999999", "1e9", "1700000000.5"])
def test_impossible_timestamps_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(raw)


@pytest.mark.parametrize(("data", "message", "line"), [
    (b"", "the file is empty", None),
    (b"  \n\n ", "the file is empty", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data", None),
    (b"\n\nurl,title\nhttps://a.example/,A\n", "it starts with 'url,title'", 3),
    (b"<!DOCTYPE html><html><body><p>Hello <a href='https://a.example/'>a</a></p></body></html>",
     "no <!DOCTYPE NETSCAPE-Bookmark-file-1>", None),
    (b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF=\"https://a.example/\">caf\xe9</A>\n",
     "not UTF-8", 3),
    (b'{"format": "kura-bookmarks",\n "version": 1,\n "bookmarks": [}', "not valid JSON", 3),
    (b'{"bookmarks": []}', "not a Kura export", None),
    (b'[1, 2, 3]', "neither a Pinboard export", None),
    (b'{"format": "kura-bookmarks", "version": 99}', "version 99", None),
    (b'{"format": "kura-bookmarks", "version": 1, "bookmarks": {}}', '"bookmarks" must be a list', None),
    (b'{"format": "kura-bookmarks", "version": 1, "collections": [{"id": 1, "parent_id": 2, "name": "x"}]}',
     "parent that is missing", None),
    (b'{"format": "kura-bookmarks", "version": 1, "collections": [{"name": "x"}]}',
     "collections[0]: id", None),
], ids=["empty", "blank", "binary", "csv", "web-page", "latin-1", "broken-json", "other-json", "json-list",
        "json-version", "json-shape", "json-orphan-collection", "json-bad-collection"])
def test_each_kind_of_bad_file_is_refused_saying_why(data: bytes, message: str, line: int | None) -> None:
    with pytest.raises(BadFile) as caught:
        items_of(data)
    assert message in caught.value.message
    assert caught.value.line == line
    assert caught.value.status == 400


TRICKY = "\n".join([
    "<!DOCTYPE NETSCAPE-Bookmark-file-1>", "<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=UTF-8\">",
    "<DL><p>", '<DT><H3 ADD_DATE="5" PERSONAL_TOOLBAR_FOLDER="true">Bar &amp; more</H3>', "<DL><p>",
    "<DT><A HREF='https://single.example/' ADD_DATE=7>single quotes, bare value</A>",
    '<DT><A HREF="https://gt.example/?a>b" TOREAD>a &gt; in the value, a bare flag</A>',
    '<DT><A\n  HREF="https://lines.example/"\n  TAGS="x,y">a tag across lines</A>',
    '<dt><a href="https://lower.example/?a=1&amp;b=2" tags="Caf&eacute;" private="0">lower case</a>',
    '<DT><A HREF="https://empty.example/" TAGS="" LAST_MODIFIED="">empty values</A >',
    "<DD>a description with <b>bold</b> &amp; an entity",
    '<DT><A HREF="https://slash.example/" ADD_DATE="9" />self-closed<//A>',
    "<script>var s = '<DT><A HREF=\"https://script.example/\">not a link</A></DL>';</script>",
    '<DT><A HREF="https://after.example/">still in the folder after the script</A>',
    "</DL><p>", "</DL><p>",
])


def test_the_fast_tag_paths_read_exactly_what_html_parser_reads(monkeypatch) -> None:
    from html.parser import HTMLParser

    from domain.transfer.netscape import NetscapeParser

    # Past the reader's 64 KiB chunk, so tags also straddle the points where text is fed.
    many = "".join(f'<DT><A HREF="https://m{i}.example/" ADD_DATE="{i}" TAGS="t{i % 7}">m &amp; {i}</A>\n'
                   f"<DD>d{i}\n" for i in range(2500))
    documents = [(FIXTURES / name).read_bytes() for name in ("firefox.html", "chrome.html", "safari.html",
                                                             "pocket.html")]
    documents += [TRICKY.encode(), TRICKY.replace("</DL><p>\n</DL><p>", many + "</DL></DL>").encode()]
    fast = [items_of(data) for data in documents]
    monkeypatch.setattr(NetscapeParser, "parse_starttag", HTMLParser.parse_starttag)
    monkeypatch.setattr(NetscapeParser, "parse_endtag", HTMLParser.parse_endtag)
    stock = [items_of(data) for data in documents]
    assert fast == stock
    assert len(entries(fast[-1])) == 2500 + 7
    assert entries(fast[-2])["https://after.example/"].folder == ("Bar & more",)
