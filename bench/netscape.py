"""A Netscape bookmark file (the format every browser exports) from the seeded generator: folders
nested as the collection plan, with ADD_DATE, LAST_MODIFIED, TAGS, TOREAD, PRIVATE and <DD>."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from pathlib import Path
from typing import TextIO

from bench import datagen

HEADER = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file. -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
"""


def _anchor(row: datagen.Row) -> str:
    attrs = [f'HREF="{escape(row.url)}"', f'ADD_DATE="{row.created // 1_000_000}"',
             f'LAST_MODIFIED="{row.modified // 1_000_000}"', f'TAGS="{escape(",".join(row.tags))}"']
    if row.unread:
        attrs.append('TOREAD="1"')
    if row.private:
        attrs.append('PRIVATE="1"')
    line = f"<DT><A {' '.join(attrs)}>{escape(row.title)}</A>\n"
    return line + (f"<DD>{escape(row.description)}\n" if row.description else "")


def _folder(out: TextIO, index: int | None, plan: list, children: dict, rows: dict, depth: int) -> None:
    pad = "    " * depth
    if index is not None:
        out.write(f'{pad}<DT><H3 ADD_DATE="{datagen.END_MICROS // 1_000_000}">{escape(plan[index][0])}</H3>\n')
    out.write(f"{pad}<DL><p>\n")
    for child in children[index]:
        _folder(out, child, plan, children, rows, depth + 1)
    for row in rows[index]:
        out.write(pad + "    " + _anchor(row))
    out.write(f"{pad}</DL><p>\n")


def write(path: Path, *, count: int, seed: int = 7, tags: int = 500) -> int:
    """Write `count` bookmarks to `path`; returns how many were written."""
    spec = datagen.Spec(main_bookmarks=count, tags=tags, seed=seed)
    rng, tag_names, plan = datagen.user_plan(spec, 0)
    children: dict[int | None, list[int]] = defaultdict(list)
    for index, (_, parent) in enumerate(plan):
        children[parent].append(index)
    rows: dict[int | None, list[datagen.Row]] = defaultdict(list)
    for row in datagen.bookmark_rows(rng, count=count, tags=tag_names, collections=len(plan)):
        rows[row.collection].append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        _folder(out, None, plan, children, rows, 0)
    return sum(len(found) for found in rows.values())
