"""A streaming reader for the Netscape bookmark file that every browser exports.

It is fed text in chunks and hands back items as it goes, so memory stays flat however large the
file. The standard library's html.parser is forgiving about the unclosed <DT> and <p> tags these
files are full of and reports the line of every tag through getpos().

Every folder and bookmark gets its place among its folder's entries, so an export can keep the
browser's order. Shapes handled: Firefox (TAGS, SHORTCUTURL as the keyword, ICON_URI, the toolbar
and "Other Bookmarks" folders as <H3>), Chrome/Edge (PERSONAL_TOOLBAR_FOLDER), Safari (no outer <DL>; its Reading List folder means
unread), Pocket (<ul><li><a time_added tags>, an <h1> per "Unread" / "Read Archive" section),
linkding (notes as [linkding-notes]…[/linkding-notes] at the end of the <DD>, the archived flag as the
tag linkding:bookmarks.archived, PRIVATE="0" for a shared bookmark).
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from domain.transfer.entries import (
    MAX_DEPTH,
    Entry,
    EntryError,
    Folder,
    Item,
    parse_flag,
    parse_timestamp,
    split_tags,
)

SAFARI_READING_LIST = "com.apple.readinglist"
LINKDING_ARCHIVED = "linkding:bookmarks.archived"
_LINKDING_NOTES = re.compile(r"\[linkding-notes\](.*?)\[/linkding-notes\]", re.DOTALL)
# The folders a browser always has at the top (attributes mark some, names the rest): with folders
# as tags they would tag nearly every bookmark, so they are left out of the tags.
ROOT_ATTRIBUTES = ("personal_toolbar_folder", "unfiled_bookmarks_folder")
# The toolbar's names in Firefox, Chrome/Brave/Vivaldi, Edge and Safari: Kura keeps no flag for it, so
# the Netscape export marks the top-level collection of one of these names as the toolbar again.
TOOLBAR_NAMES = frozenset(name.casefold() for name in (
    "Bookmarks Toolbar", "Bookmarks bar", "Favorites bar", "Favourites bar", "Favorites", "Favourites"))
ROOT_NAMES = TOOLBAR_NAMES | frozenset(name.casefold() for name in (
    "Bookmarks Menu", "Other Bookmarks", "Mobile Bookmarks", "Mozilla Firefox", "BookmarksBar",
    "BookmarksMenu", "Other Favorites", "Speed Dial", "Bookmarks"))
# Tags that end a <DD> description: the next entry or folder, or the end of the list.
DESCRIPTION_ENDS = {"dt", "dl", "h3", "a", "hr", "h1", "li", "ul"}


# Almost every tag in a bookmark file is a name and double-quoted attributes on one line. The
# standard library's parse_starttag spends ~40% of the parse on such tags with regexes written for
# any HTML; these two read them in one match. Anything else (single quotes, bare values, a < or >
# in a value, a tag across lines, <script>) goes the standard library's way.
_SIMPLE_TAG = re.compile(r'<([a-zA-Z][a-zA-Z0-9]*)((?:[ \t]+[a-zA-Z_][-a-zA-Z0-9_]*(?:="[^"<>\n]*")?)*)[ \t]*>')
_SIMPLE_ATTR = re.compile(r'[ \t]+([a-zA-Z_][-a-zA-Z0-9_]*)(?:(=)"([^"<>\n]*)")?')
_SIMPLE_END = re.compile(r"</([a-zA-Z][a-zA-Z0-9]*)>")


class NetscapeParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Item] = []
        self.doctype_seen = False
        self.list_seen = False  # a <DL> (or Pocket's <ul>) with an entry in it
        self.anchors = 0
        self._lists: list[tuple[str, ...] | None] = []  # one per open <DL>: the folder it opens
        self._folder: tuple[str, ...] = ()
        self._pending_h3: dict[str, str | None] | None = None
        self._h3_path: tuple[str, ...] | None = None
        self._text: list[str] | None = None
        self._anchor: tuple[int, dict[str, str | None]] | None = None
        self._entry: Entry | None = None  # waiting for a possible <DD>
        self._reading_list: set[tuple[str, ...]] = set()
        self._roots: set[tuple[str, ...]] = set()  # browser root folders, by path
        self._places: dict[tuple[str, ...], int] = {}  # per folder path: the next entry's position
        self._section: str = ""  # Pocket: the current <h1>
        self._h1 = False

    def parse_starttag(self, i: int) -> int:
        """html.parser's own, for the simple shape above: same tag, attributes and position."""
        match = _SIMPLE_TAG.match(self.rawdata, i)
        if match is None or (tag := match.group(1).lower()) in self.CDATA_CONTENT_ELEMENTS:
            return super().parse_starttag(i)
        self._HTMLParser__starttag_text = match.group()  # what get_starttag_text() answers
        self.lasttag = tag
        attrs = [(name.lower(), (unescape(value) if "&" in value else value) if eq else None)
                 for name, eq, value in _SIMPLE_ATTR.findall(match.group(2))]
        self.handle_starttag(tag, attrs)
        return match.end()

    def parse_endtag(self, i: int) -> int:
        """html.parser's own, for </NAME> outside <script>/<style>."""
        match = _SIMPLE_END.match(self.rawdata, i)
        if match is None or self.cdata_elem is not None:
            return super().parse_endtag(i)
        self.handle_endtag(match.group(1).lower())
        self.clear_cdata_mode()
        return match.end()

    # --- html.parser callbacks ------------------------------------------------------------
    def handle_decl(self, decl: str) -> None:
        if "netscape-bookmark-file" in decl.lower():
            self.doctype_seen = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DESCRIPTION_ENDS:
            self._flush_entry()
        if tag == "a":
            self._anchor = (self.getpos()[0], dict(attrs))
            self._text = []
        elif tag == "h3":
            self._pending_h3 = dict(attrs)
            self._text = []
        elif tag == "h1":
            self._h1, self._text = True, []
        elif tag == "dd" and self._entry is not None:
            self._text = []
        elif tag in {"dl", "ul"}:
            self._open_list()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor is not None:
            self._close_anchor()
        elif tag == "h3" and self._pending_h3 is not None:
            self._close_folder()
        elif tag == "h1" and self._h1:
            self._section, self._h1 = self._take_text().lower(), False
        elif tag in {"dl", "ul"}:
            self._flush_entry()
            if self._lists:
                self._lists.pop()
            self._folder = next((f for f in reversed(self._lists) if f is not None), ())

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush_entry()

    # --- helpers -------------------------------------------------------------------------------
    def _take_text(self) -> str:
        text = "".join(self._text or ()).strip()
        self._text = None
        return text

    def _open_list(self) -> None:
        # A <DL> right after an <H3> holds that folder's contents; any other list adds no level.
        path, self._h3_path = self._h3_path, None
        self._lists.append(path)
        if path is not None:
            self._folder = path

    def _close_folder(self) -> None:
        attrs, self._pending_h3 = self._pending_h3 or {}, None
        name = self._take_text() or "(no name)"
        path = (*self._folder, name) if len(self._folder) < MAX_DEPTH else self._folder
        if (attrs.get("id") or "").lower() == SAFARI_READING_LIST:
            self._reading_list.add(path)
        if path[:-1] in self._roots or not path[:-1]:
            if name.casefold() in ROOT_NAMES or any(parse_flag(attrs.get(a) or "0") for a in ROOT_ATTRIBUTES):
                self._roots.add(path)
        try:
            created = parse_timestamp(attrs.get("add_date"))
        except ValueError:
            created = None  # a folder's date is not worth losing its contents over
        # Its place among its parent's entries, counted with the bookmarks: the export interleaves both.
        self.items.append(Folder(path=path, created=created, position=self._place()))
        self._h3_path = path

    def _place(self) -> int:
        """The next position in the current folder (a folder met twice by name goes on counting)."""
        place = self._places.get(self._folder, 0)
        self._places[self._folder] = place + 1
        return place

    def _close_anchor(self) -> None:
        line, attrs = self._anchor or (0, {})
        self._anchor = None
        title = self._take_text()
        self.anchors += 1
        if self._lists:
            self.list_seen = True
        href = (attrs.get("href") or "").strip()
        if not href:
            self.items.append(EntryError(line, "the link has no HREF"))
            return
        try:
            self._entry = self._entry_from(line, href, title, attrs)
        except ValueError as exc:
            self.items.append(EntryError(line, f"bad date on {href[:80]}: {exc}"))

    def _entry_from(self, line: int, href: str, title: str, attrs: dict[str, str | None]) -> Entry:
        def flag(name: str) -> bool | None:
            return parse_flag(attrs[name] or "1") if name in attrs else None

        created = parse_timestamp(attrs.get("add_date") or attrs.get("time_added"))
        unread, archived = flag("toread"), None
        tags = split_tags(attrs.get("tags"))
        if LINKDING_ARCHIVED in tags:
            tags, archived = [t for t in tags if t != LINKDING_ARCHIVED], True
        if self._folder in self._reading_list or self._section == "unread":
            unread = True
        elif self._section == "read archive":
            archived, unread = True, False
        return Entry(
            line=line,
            url=href,
            title=title,
            tags=tags,
            folder=self._folder,
            roots=self._root_depth(),
            created=created,
            modified=parse_timestamp(attrs.get("last_modified")) or created,
            unread=unread,
            archived=archived,
            private=flag("private"),
            position=self._place(),
            keyword=attrs.get("shortcuturl"),
        )

    def _flush_entry(self) -> None:
        if self._entry is None:
            return
        entry, self._entry = self._entry, None
        if self._text is not None and self._anchor is None and self._pending_h3 is None and not self._h1:
            entry.description = self._take_text()
            if "[linkding-notes]" in entry.description:
                notes = _LINKDING_NOTES.search(entry.description)
                entry.notes = notes.group(1).strip() if notes else ""
                entry.description = _LINKDING_NOTES.sub("", entry.description).strip()
        self.items.append(entry)

    def _root_depth(self) -> int:
        depth = 0
        while depth < len(self._folder) and self._folder[:depth + 1] in self._roots:
            depth += 1
        return depth

    def drain(self) -> list[Item]:
        items, self.items = self.items, []
        return items

    @property
    def looks_like_bookmarks(self) -> bool:
        return self.doctype_seen or (self.list_seen and self.anchors > 0)
