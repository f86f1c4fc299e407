"""Write the Netscape bookmark file the way browsers do, so their importers read it back.

Dates are whole seconds, the unit every browser importer expects (Kura's JSON export keeps the
microseconds). A keyword is Firefox's SHORTCUTURL, which Firefox's importer reads back. Nesting is <DT><H3>…</H3> followed by the folder's own <DL><p> list.
"""

from __future__ import annotations

from html import escape
from typing import Any

from domain.transfer.netscape import TOOLBAR_NAMES

HEADER = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
"""
FOOTER = "</DL><p>\n"
INDENT = "    "


def _seconds(micros: int | None) -> str:
    return str(int(micros or 0) // 1_000_000)


def folder_open(collection: dict[str, Any], depth: int) -> str:
    pad = INDENT * depth
    is_toolbar = depth == 1 and collection["name"].casefold() in TOOLBAR_NAMES
    toolbar = ' PERSONAL_TOOLBAR_FOLDER="true"' if is_toolbar else ""
    return (f'{pad}<DT><H3 ADD_DATE="{_seconds(collection["created_at"])}"{toolbar}>'
            f'{escape(collection["name"], quote=False)}</H3>\n{pad}<DL><p>\n')


def folder_close(depth: int) -> str:
    return f"{INDENT * depth}</DL><p>\n"


def bookmark(b: dict[str, Any], depth: int) -> str:
    pad = INDENT * depth
    attrs = [
        f'HREF="{escape(b["url"])}"',
        f'ADD_DATE="{_seconds(b["created_at"])}"',
        f'LAST_MODIFIED="{_seconds(b["modified_at"])}"',
        f'PRIVATE="{int(bool(b["private"]))}"',
        f'TOREAD="{int(bool(b["unread"]))}"',
    ]
    if b.get("keyword"):
        attrs.append(f'SHORTCUTURL="{escape(b["keyword"])}"')  # Firefox's name for a keyword
    if b["tags"]:
        attrs.append(f'TAGS="{escape(",".join(b["tags"]))}"')
    line = f'{pad}<DT><A {" ".join(attrs)}>{escape(b["title"] or b["url"], quote=False)}</A>\n'
    if b["description"]:
        line += f'{pad}<DD>{escape(b["description"], quote=False)}\n'
    return line
