"""Imports from the services people leave (issue 13), from files in the shapes those services write:
linkding's Netscape file, Pocket's CSV and its zip of parts, Pinboard's JSON, a Netscape file with
millisecond and nanosecond dates."""

from __future__ import annotations

import io
import zipfile

import pytest
from transfer_data import FIXTURES, snapshot

from domain.transfer import BadFile, import_file


def bookmarks(db, user_id: int) -> dict[str, tuple]:
    return {b[0]: b for b in snapshot(db, user_id=user_id)["bookmarks"]}


def test_linkding_notes_archived_tag_and_shared_flag_become_fields(db, alice, import_fixture) -> None:
    result = import_fixture("linkding.html", user_id=alice.user_id)
    assert (result.created, result.skipped) == (4, 0)
    found = bookmarks(db, alice.user_id)
    url, title, desc, notes, unread, archived, private, _, created, modified, tags = found[
        "https://docs.djangoproject.com/en/5.0/topics/db/queries/?highlight=q&x=1"]
    assert (title, desc) == ("Making queries | Django documentation", "How to query the ORM")
    assert tags == ("django", "python")
    assert notes == "Remember: select_related for FKs.\nprefetch_related for M2M & reverse FKs."
    assert (unread, archived, private) == (False, False, True)
    assert (created, modified) == (1_699_990_000_000_000, 1_700_000_000_000_000)
    wal = found["https://sqlite.org/wal.html"]
    assert (wal[4], wal[6]) == (True, False)  # TOREAD="1"; PRIVATE="0" is linkding's "shared"
    old = found["https://example.org/old-post"]
    assert old[5] is True and old[10] == ("blog",)  # the archived tag is a flag, not a tag
    hn = found["https://news.ycombinator.com/"]
    assert (hn[2], hn[3]) == ("", "only notes, no description")
    assert "linkding:bookmarks.archived" not in snapshot(db, user_id=alice.user_id)["tags"]


def test_pocket_csv_reads_status_tags_and_dates(db, alice, import_fixture) -> None:
    result = import_fixture("pocket.csv", user_id=alice.user_id)
    assert (result.created, result.skipped) == (3, 0)
    found = bookmarks(db, alice.user_id)
    sqlite = found["https://sqlite.org/whybytecode.html"]
    assert (sqlite[1], sqlite[4], sqlite[5], sqlite[8], sqlite[10]) == (
        "Why SQLite Uses Bytecode", True, False, 1_710_000_000_000_000, ("databases", "sqlite"))
    rust = found["https://doc.rust-lang.org/book/"]
    assert (rust[1], rust[4], rust[5]) == ("The Rust Book, 2nd ed.", False, True)
    lwn = found["https://lwn.net/Articles/950000/"]
    assert lwn[1] == "https://lwn.net/Articles/950000/" and lwn[10] == ()


def test_pocket_zip_reads_every_part_and_reports_bad_rows_by_part_and_line(db, alice, import_fixture) -> None:
    result = import_fixture("pocket.zip", user_id=alice.user_id)
    assert (result.created, result.skipped) == (4, 1)
    assert result.errors[0]["line"] == 3 and result.errors[0]["reason"].startswith("part_000001.csv ")
    brulee = bookmarks(db, alice.user_id)["https://www.example.fr/recettes/creme-brulee"]
    assert (brulee[1], brulee[5], brulee[10]) == ("Crème brûlée recipe", True, ("cuisine", "dessert"))


def test_a_zip_without_pocket_csv_is_refused_saying_why(import_bytes, alice) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.txt", "not csv")
    with pytest.raises(BadFile, match="without a CSV"):
        import_bytes(buffer.getvalue(), user_id=alice.user_id)


def test_pinboard_json_reads_title_description_tags_time_and_flags(db, alice, import_fixture) -> None:
    result = import_fixture("pinboard.json", user_id=alice.user_id)
    assert (result.created, result.skipped) == (2, 2)
    assert [e["reason"].split(":")[0] for e in result.errors] == ["javascript", "[3]"]
    found = bookmarks(db, alice.user_id)
    howto = found["https://pinboard.in/howto/"]
    assert howto[1:4] == ("Pinboard how-to", "The help page", "")
    assert (howto[4], howto[6], howto[8], howto[10]) == (False, False, 1_614_834_367_000_000, ("help", "pinboard"))
    note = found["https://example.com/private-note"]
    assert (note[4], note[6]) == (True, True)


def test_netscape_dates_in_milliseconds_and_nanoseconds_and_zero_for_unknown(db, alice, import_fixture) -> None:
    before = import_file.__globals__["utcnow"]()
    result = import_fixture("netscape_ms.html", user_id=alice.user_id)
    assert (result.created, result.skipped) == (3, 0)
    found = bookmarks(db, alice.user_id)
    assert found["https://www.python.org/"][8:10] == (1_700_000_000_123_000, 1_700_000_500_456_000)
    assert found["https://sqlite.org/"][8:10] == (1_700_000_000_123_456, 1_700_000_000_123_456)
    unknown = found["https://unknown-date.example/"]
    assert unknown[8] == unknown[9] >= int(before.timestamp()) * 1_000_000  # the import's time, not 1970
    folder = snapshot(db, user_id=alice.user_id)["collections"][0]
    assert folder[0] == ("Bookmarks bar",) and folder[2] == 1_695_000_000_000_000


def test_service_fixtures_are_the_shapes_the_services_write() -> None:
    assert (FIXTURES / "linkding.html").read_bytes().count(b"\n\r") >= 10  # linkding joins lines so
    assert (FIXTURES / "pocket.csv").read_text().splitlines()[0] == "title,url,time_added,tags,status"
    assert zipfile.ZipFile(FIXTURES / "pocket.zip").namelist() == ["part_000000.csv", "part_000001.csv"]
    assert (FIXTURES / "pinboard.json").read_text().startswith('[{"href":"https:\\/\\/')


def test_a_pocket_row_with_a_nul_is_skipped_with_its_line(import_bytes, alice) -> None:
    rows = "".join(f"t{i},https://p{i}.example/,1700000000,,unread\n" for i in range(3000))
    data = f"title,url,time_added,tags,status\n{rows}bad\x00row,https://x.example/,1,,unread\n".encode()
    assert len(data) > 65536  # past the chunk the file is sniffed by
    result = import_bytes(data, user_id=alice.user_id)
    assert (result.created, result.skipped) == (3000, 1)
    assert result.errors[0]["line"] == 3002 and "control character" in result.errors[0]["reason"]


def test_a_pocket_csv_the_csv_module_cannot_read_is_a_bad_file_with_its_line(import_bytes, alice) -> None:
    data = f"title,url,time_added,tags,status\nok,https://a.example/,1,,unread\n\"{'x' * 200_000}\",u,1,,\n"
    with pytest.raises(BadFile, match="not CSV Kura can read") as caught:
        import_bytes(data.encode(), user_id=alice.user_id)
    assert caught.value.line == 3


def test_a_damaged_pocket_zip_is_a_bad_file(import_bytes, alice) -> None:
    data = bytearray((FIXTURES / "pocket.zip").read_bytes())
    data[60:80] = b"\xff" * 20  # inside the first part's compressed bytes
    with pytest.raises(BadFile, match="damaged"):
        import_bytes(bytes(data), user_id=alice.user_id)
