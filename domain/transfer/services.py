"""The export files of services people move from, other than the Netscape HTML they also write.

- Pinboard's JSON (`posts/all?format=json`, the settings page's backup): a list of objects with
  `href, description (the title), extended (the description), tags (space-separated), time (ISO 8601),
  toread and shared ("yes"/"no")`.
- Pocket's CSV, mailed since late 2024 as a zip of `part_000000.csv` … files, each with the header
  `title,url,time_added,tags,status`: tags joined by "|", status "unread" or "archive".
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import ijson

from domain.values import to_micros
from domain.transfer.entries import BadFile, Entry, EntryError, Item, parse_timestamp

POCKET_COLUMNS = ("title", "url", "time_added", "tags", "status")
ZIP_UNPACKED_MAX = 1 << 30  # a zip that unpacks to more is refused, not read for hours


def is_pocket_csv_header(line: str) -> bool:
    columns = {column.strip().strip('"').lower() for column in line.split(",")}
    return {"url", "time_added"} <= columns


# --- Pinboard --------------------------------------------------------------------------------------
def _yes(value: Any) -> bool | None:
    if value is None:
        return None
    return value is True or str(value).strip().lower() in {"yes", "1", "true"}


def _pinboard_time(value: Any) -> int | None:
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))  # ValueError is reported with the entry
    return to_micros(moment)


def _pinboard_entry(index: int, raw: Any) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("href"), str):
        raise ValueError("not a bookmark (an object with href)")
    created = _pinboard_time(raw.get("time"))
    shared = _yes(raw.get("shared"))
    return Entry(
        line=None, url=raw["href"], title=str(raw.get("description") or ""),
        description=str(raw.get("extended") or ""), tags=str(raw.get("tags") or "").split(),
        created=created, modified=created, unread=_yes(raw.get("toread")),
        private=None if shared is None else not shared,
    )


def read_pinboard(source: IO[bytes]) -> Iterator[Item]:
    """Pinboard's JSON list, streamed; an entry that is not a bookmark is reported by its index."""
    source.seek(0)
    try:
        for index, raw in enumerate(ijson.items(source, "item", use_float=True)):
            if index == 0 and not (isinstance(raw, dict) and "href" in raw):
                raise BadFile('a JSON list, but neither a Pinboard export (objects with "href") '
                              "nor a Kura export")
            try:
                yield _pinboard_entry(index, raw)
            except (ValueError, TypeError, OverflowError) as exc:
                yield EntryError(None, f"[{index}]: {exc}")
    except ijson.JSONError as exc:
        raise BadFile(f"it is not valid JSON: {str(exc).splitlines()[0]}") from None


# --- Pocket ----------------------------------------------------------------------------------------
def _pocket_rows(text: IO[str], part: str) -> Iterator[Item]:
    where = f"{part} " if part else ""
    reader = csv.DictReader(text)
    try:
        yield from _pocket_entries(reader, where)
    except csv.Error as exc:  # a NUL byte, a field past the csv module's limit …
        raise BadFile(f"{where or 'it '}is not CSV Kura can read: {exc}", line=reader.line_num + 1) from None


def _pocket_entries(reader: csv.DictReader[str], where: str) -> Iterator[Item]:
    if not reader.fieldnames or not is_pocket_csv_header(",".join(reader.fieldnames)):
        raise BadFile(f"{where or 'it '}is CSV, but not Pocket's export (columns {', '.join(POCKET_COLUMNS)})")
    for row in reader:
        line = reader.line_num
        url = (row.get("url") or "").strip()
        if not url:
            yield EntryError(line, f"{where}the row has no url")
            continue
        status = (row.get("status") or "").strip().lower()
        try:
            created = parse_timestamp(row.get("time_added"))
        except ValueError as exc:
            yield EntryError(line, f"{where}bad date on {url[:80]}: {exc}")
            continue
        title = (row.get("title") or "").strip()
        yield Entry(
            line=line, url=url, title="" if title == url else title,
            tags=[t.strip() for t in (row.get("tags") or "").split("|") if t.strip()],
            created=created, modified=created, unread=status == "unread",
            archived=status in {"archive", "archived"}, part=where,
        )


def read_pocket_csv(source: IO[bytes]) -> Iterator[Item]:
    source.seek(0)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        yield from _pocket_rows(text, "")
    except UnicodeDecodeError:
        raise BadFile("it is not UTF-8 text; save it again as UTF-8") from None
    finally:
        text.detach()


def read_pocket_zip(source: IO[bytes]) -> Iterator[Item]:
    """Every CSV part in Pocket's zip, in name order (part_000000.csv, part_000001.csv …)."""
    source.seek(0)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise BadFile(f"it is a damaged zip file: {exc}") from None
    with archive:
        parts = sorted(n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX"))
        if sum(info.file_size for info in archive.infolist()) > ZIP_UNPACKED_MAX:
            raise BadFile(f"the zip unpacks to more than {ZIP_UNPACKED_MAX >> 20} MiB")
        if not parts:
            raise BadFile("a zip file without a CSV in it; Pocket's export holds part_000000.csv …")
        for name in parts:
            with archive.open(name) as member:
                text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
                try:
                    yield from _pocket_rows(text, name.rsplit("/", 1)[-1])
                except UnicodeDecodeError:
                    raise BadFile(f"{name} is not UTF-8 text") from None
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise BadFile(f"the zip file is damaged in {name}: {exc}") from None

