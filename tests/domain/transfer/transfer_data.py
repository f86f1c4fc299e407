"""Data for the transfer tests: a generated collection and snapshots to compare users and databases by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from common.db import Database
from domain.fields import BOOKMARK_COLUMNS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bookmarks"
BASE_US = 1_600_000_000_000_000

TITLES = ["Crème brûlée & <friends>", 'He said "hi" — ok?', "日本語のページ", "Ça va? 👍", "a < b && c > d",
          "Ωmega's rock", "plain title"]


def populate(db: Database, *, user_id: int, count: int, nested: bool = True) -> None:
    """A collection with nested folders, unicode, entities, tags, flags, microsecond dates, and some
    bookmarks with a place in their folder (after its subfolders) and a keyword: every field varies."""
    with db.write_session() as session:
        conn = session.connection()

        def collection(name: str, parent: int | None, position: int) -> int:
            return conn.execute(text(
                "INSERT INTO collections (user_id, parent_id, name, position, created_at) "
                "VALUES (:u, :p, :n, :pos, :c)"), {"u": user_id, "p": parent, "n": name, "pos": position,
                                                  "c": BASE_US + 7 * position + (parent or 0)}).lastrowid

        folders: list[int | None] = [None]
        if nested:
            work = collection("Work & Play", None, 0)
            deep = collection("Ünïcödé <deep>", work, 0)
            folders += [work, deep, collection("深い", deep, 0), collection("Second", None, 1),
                        collection("Empty one", work, 1)][:4]
        tag_names = ["python", "Web Dev", "café", "rust", "日本", "a&b"]
        ids = {}
        for name in tag_names:
            ids[name] = conn.execute(text("INSERT INTO tags (user_id, name) VALUES (:u, :n)"),
                                     {"u": user_id, "n": name}).lastrowid
        conn.execute(text("INSERT INTO tags (user_id, name) VALUES (:u, 'unused')"), {"u": user_id})
        for i in range(count):
            created = BASE_US + i * 86_400_000_123 + 456_789
            bid = conn.execute(text(
                "INSERT INTO bookmarks (user_id, url, title, description, notes, unread, archived, private, "
                "collection_id, created_at, modified_at, position, keyword) "
                "VALUES (:u, :url, :t, :d, :n, :ur, :ar, :pr, :c, :ca, :ma, :pos, :kw)"),
                {"u": user_id, "url": f"https://example.com/{i}/p?q=a&b={i}", "t": f"{TITLES[i % len(TITLES)]} {i}",
                 "d": f"line one of {i} & <b>bold</b>\nline two" if i % 2 else "",
                 "n": f"note {i}" if i % 3 == 0 else "", "ur": i % 2, "ar": int(i % 5 == 0),
                 "pr": int(i % 7 == 0), "c": folders[i % len(folders)], "ca": created,
                 "ma": created + 1_000_001, "pos": 100 + i if i % 4 == 1 else None,
                 "kw": f"kw{i}" if i % 6 == 1 else None}).lastrowid
            for name in tag_names[: i % 4]:
                conn.execute(text("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (:b, :t)"),
                             {"b": bid, "t": ids[name]})


def snapshot(db: Database, *, user_id: int) -> dict[str, Any]:
    """Everything a user has, keyed by meaning (paths, names, URLs), not by database ids."""
    with db.read_session() as session:
        conn = session.connection()
        cols = {cid: (parent, name, pos, created) for cid, parent, name, pos, created in conn.execute(text(
            "SELECT id, parent_id, name, position, created_at FROM collections WHERE user_id = :u"),
            {"u": user_id}).all()}

        def path(cid: int | None) -> tuple[str, ...]:
            return () if cid is None else (*path(cols[cid][0]), cols[cid][1])

        tags: dict[int, list[str]] = {}
        for bid, name in conn.execute(text(
                "SELECT bt.bookmark_id, t.name FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id "
                "WHERE t.user_id = :u ORDER BY t.name"), {"u": user_id}).all():
            tags.setdefault(bid, []).append(name)
        bookmarks = sorted(
            (url, title, desc, notes, bool(unread), bool(archived), bool(private), path(cid), created, modified,
             tuple(tags.get(bid, ())))
            for bid, url, title, desc, notes, unread, archived, private, cid, created, modified in conn.execute(text(
                "SELECT id, url, title, description, notes, unread, archived, private, collection_id, "
                "created_at, modified_at FROM bookmarks WHERE user_id = :u"), {"u": user_id}).all())
        return {
            "collections": sorted((path(cid), pos, created) for cid, (_, _, pos, created) in cols.items()),
            "tags": sorted(conn.execute(text("SELECT name FROM tags WHERE user_id = :u"), {"u": user_id}).scalars()),
            "bookmarks": bookmarks,
        }


def every_field(db: Database, *, user_id: int) -> list[dict[str, Any]]:
    """Each bookmark as every field of domain/fields.py's list holds it, the collection as its path
    and with its tags: a field an export or import drops is a difference here."""
    with db.read_session() as session:
        conn = session.connection()
        cols = {cid: (parent, name) for cid, parent, name in conn.execute(
            text("SELECT id, parent_id, name FROM collections WHERE user_id = :u"), {"u": user_id}).all()}

        def path(cid: int | None) -> tuple[str, ...]:
            return () if cid is None else (*path(cols[cid][0]), cols[cid][1])

        rows = conn.execute(text(f"SELECT id, {', '.join(BOOKMARK_COLUMNS)} FROM bookmarks WHERE user_id = :u"),
                            {"u": user_id}).mappings().all()
        tags: dict[int, list[str]] = {}
        for bid, name in conn.execute(text(
                "SELECT bt.bookmark_id, t.name FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id "
                "WHERE t.user_id = :u ORDER BY t.name"), {"u": user_id}).all():
            tags.setdefault(bid, []).append(name)
        out = [{**{column: row[column] for column in BOOKMARK_COLUMNS}, "collection_id": path(row["collection_id"]),
                "tags": tuple(tags.get(row["id"], ()))} for row in rows]
    return sorted(out, key=lambda b: b["url"])


def whole_database(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table an import writes, plus the FTS index's row count."""
    with db.read_session() as session:
        conn = session.connection()
        out = {table: sorted(conn.execute(text(f"SELECT * FROM {table}")).all())
               for table in ("bookmarks", "tags", "bookmark_tags", "collections")}
        out["fts"] = [tuple(conn.execute(text("SELECT count(*) FROM bookmarks_fts")).all())]
        return out

