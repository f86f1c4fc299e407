"""Generated Netscape and Kura JSON documents (Hypothesis), imported into a real database: the import
either refuses the whole file as a bad file, or accounts for every entry (imported, merged, or
reported with its line / index), and the user's bookmarks read back afterwards (issue 12)."""

from __future__ import annotations

import io
import itertools
import json
from html import escape
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import accounts, listing
from common.db import Database
from domain.transfer import BadFile, import_file

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
_users = itertools.count()

hosts = st.sampled_from(["example.com", "ＥＸＡＭＰＬＥ.com", "e%78ample.com", "bücher.de", "xn--bcher-kva.de",
                         "a..b", "", "[::1]", "ex ample.org"])
urls = st.one_of(
    st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
              st.sampled_from(["http", "https", "HTTPS", "ftp", "javascript", "place", "gopher"]), hosts,
              st.text(max_size=20)),
    st.sampled_from(["magnet:?xt=urn:btih:abc", "notaurl", "", "http://", "https://e.com/\r\nX: y"]),
    st.text(max_size=40),
)
dates = st.one_of(st.none(), st.integers(min_value=-(2**65), max_value=2**66),
                  st.sampled_from([0, 1_700_000_000, 1_700_000_000_123, 1_700_000_000_123_456,
                                   1_700_000_000_123_456_789, 2**63, 2**63 - 1, 10**20]))
texts = st.text(max_size=30)
tags = st.lists(st.text(max_size=12), max_size=4) | st.lists(st.just("t"), min_size=101, max_size=101)
entries = st.fixed_dictionaries({"url": urls, "title": texts | st.just("x" * 1100), "description": texts,
                                 "tags": tags, "created": dates, "modified": dates,
                                 "folder": st.sampled_from([(), ("Bookmarks bar",), ("A", "B"), ("A",)])})


def fresh_user(db: Database) -> int:
    with db.write_session() as session:
        return accounts.create_user(session, name=f"fuzz{next(_users)}").id


def netscape(items: list[dict[str, Any]]) -> tuple[bytes, list[int]]:
    """The document and each entry's line."""
    lines, anchor_lines = ["<!DOCTYPE NETSCAPE-Bookmark-file-1>", "<DL><p>"], []
    for item in items:
        for name in item["folder"]:
            lines += [f"<DT><H3>{escape(name)}</H3>", "<DL><p>"]
        attrs = f'HREF="{escape(item["url"])}" TAGS="{escape(",".join(item["tags"]))}"'
        for attr, key in (("ADD_DATE", "created"), ("LAST_MODIFIED", "modified")):
            if item[key] is not None:
                attrs += f' {attr}="{item[key]}"'
        # The line html.parser reports: where the tag starts, after any line breaks in earlier text.
        anchor_lines.append(sum(line.count("\n") + 1 for line in lines) + 1)
        lines.append(f"<DT><A {attrs}>{escape(item['title'])}</A>")
        if item["description"].strip():
            lines.append(f"<DD>{escape(item['description'])}")
        lines += ["</DL><p>"] * len(item["folder"])
    lines.append("</DL><p>")
    return "\n".join(lines).encode("utf-8", "surrogatepass"), anchor_lines


def assert_accounted_and_readable(db: Database, user_id: int, data: bytes, count: int) -> list[dict[str, Any]]:
    try:
        result = import_file(db, user_id=user_id, source=io.BytesIO(data))
    except BadFile:
        return []
    assert result.created + result.updated + result.unchanged + result.skipped == count, result
    assert len(result.errors) == result.skipped
    with db.read_session() as session:
        page = listing.list_bookmarks(session, user_id=user_id, limit=500)
    assert all(bookmark["created"] and bookmark["modified"] for bookmark in page["items"])  # dates render
    return result.errors


@FUZZ
@given(items=st.lists(entries, max_size=8))
def test_generated_netscape_files_import_every_entry_or_report_it_with_its_line(db, items) -> None:
    data, anchor_lines = netscape(items)
    errors = assert_accounted_and_readable(db, fresh_user(db), data, len(items))
    assert all(error["line"] in anchor_lines for error in errors), (errors, anchor_lines)


json_values = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), texts,
                        st.floats(allow_nan=False), st.lists(texts, max_size=3))
json_bookmarks = st.one_of(
    st.builds(lambda e, extra: {"url": e["url"], "title": e["title"], "tags": e["tags"], "created": e["created"],
                                "modified_at": e["modified"], **extra},
              entries, st.dictionaries(st.sampled_from(["unread", "collection", "notes", "private"]), json_values)),
    json_values,
)


@FUZZ
@given(bookmarks=st.lists(json_bookmarks, max_size=8), version=st.sampled_from([1, 2]))
def test_generated_kura_json_imports_every_entry_or_reports_it_by_index(db, bookmarks, version) -> None:
    doc = {"format": "kura-bookmarks", "version": version, "tags": ["spare"],
           "collections": [{"id": 1, "parent_id": None, "name": "Box", "position": 0, "created": 5}],
           "bookmarks": bookmarks}
    errors = assert_accounted_and_readable(db, fresh_user(db), json.dumps(doc).encode(), len(bookmarks))
    assert all(error["line"] is None and error["reason"].startswith("bookmarks[") for error in errors), errors


@FUZZ
@given(prefix=st.binary(max_size=40), junk=st.text(max_size=60))
def test_arbitrary_bytes_are_imported_or_refused_as_a_bad_file_never_a_crash(db, prefix, junk) -> None:
    user_id = fresh_user(db)
    for data in (prefix, prefix + junk.encode("utf-8", "surrogatepass"),
                 b"<!DOCTYPE NETSCAPE-Bookmark-file-1><DL>" + junk.encode("utf-8", "surrogatepass"),
                 b'{"format": "kura-bookmarks", "version": 2, "bookmarks": [' + junk.encode("utf-8", "surrogatepass"),
                 b"[" + junk.encode("utf-8", "surrogatepass"), b"title,url,time_added\n" + prefix):
        try:
            import_file(db, user_id=user_id, source=io.BytesIO(data))
        except BadFile:
            pass
