"""Seeded test data for the benchmarks, written through Kura's schema so every invariant holds.

Users and tokens go through domain.accounts; bookmarks, tags, links and collections are inserted in
bulk with plain SQL into the migrated schema, so the FTS5 triggers index every row exactly as the
API's own inserts would. Built once per spec and cached: reruns copy the cached file.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import vocab
from common.sqlite import sqlite3
from domain import accounts, migrate
from domain.searchindex.sql import HEAD_SEQ_SQL, PRUNE_SQL
from common.db import open_database
from common.settings import load_settings

GENERATOR_VERSION = 4  # 4: links carry their tag sets (migration 0010); 3: the search log pruned, as on a host
END_MICROS = 1_793_491_200_000_000  # 2026-11-01 UTC: fixed so a seed always gives the same dates
SPAN_MICROS = 5 * 365 * 86_400 * 1_000_000
BATCH = 5000
MAIN_USER = "bench"


@dataclass(frozen=True)
class Spec:
    main_bookmarks: int = 100_000
    other_users: int = 10
    other_bookmarks: int = 10_000
    tags: int = 500
    seed: int = 7
    notes_words: int = 0  # long notes pad the database (the 1 GB backup file)

    def key(self) -> str:
        text = json.dumps({**asdict(self), "v": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def users(self) -> list[tuple[str, int]]:
        others = [(f"user{n:02d}", self.other_bookmarks) for n in range(1, self.other_users + 1)]
        return [(MAIN_USER, self.main_bookmarks), *others]


@dataclass(frozen=True)
class Row:
    url: str
    title: str
    description: str
    notes: str
    tags: tuple[str, ...]
    collection: int | None  # index into the user's collection plan
    unread: bool
    archived: bool
    private: bool
    created: int  # microseconds
    modified: int


def tag_names(count: int) -> list[str]:
    # Tags come from the middle of the vocabulary so they do not collide with the search words.
    return [vocab.VOCAB[200 + i] for i in range(count)]


def collection_plan(rng: random.Random) -> list[tuple[str, int | None]]:
    """Nested folders as (name, parent index): a dozen roots, children and grandchildren."""
    plan: list[tuple[str, int | None]] = []
    for root in range(12):
        plan.append((f"{vocab.VOCAB[1000 + root]}", None))
        root_index = len(plan) - 1
        for child in range(rng.randint(0, 3)):
            plan.append((f"{vocab.VOCAB[1100 + root * 4 + child]}", root_index))
            child_index = len(plan) - 1
            for grand in range(rng.randint(0, 2)):
                plan.append((f"{vocab.VOCAB[1200 + root * 12 + child * 3 + grand]}", child_index))
    return plan


def bookmark_rows(rng: random.Random, *, count: int, tags: list[str], collections: int,
                  notes_words: int = 0) -> Iterator[Row]:
    tag_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(tags))]
    domains = [f"www.{vocab.VOCAB[600 + n]}.{('com', 'org', 'net', 'io')[n % 4]}" for n in range(300)]
    for n in range(count):
        created = END_MICROS - rng.randrange(SPAN_MICROS)
        first, second = vocab.words(rng, 2)
        chosen = rng.choices(tags, weights=tag_weights, k=rng.randint(1, 5))
        yield Row(
            url=f"https://{rng.choice(domains)}/{first}/{second}-{n}",
            title=vocab.sentence(rng, 3, 8).capitalize(),
            description=vocab.sentence(rng, 8, 25),
            notes=vocab.sentence(rng, notes_words, notes_words) if notes_words else "",
            tags=tuple(dict.fromkeys(chosen)),
            collection=rng.randrange(collections) if rng.random() < 0.7 else None,
            unread=rng.random() < 0.2,
            archived=rng.random() < 0.1,
            private=rng.random() < 0.05,
            created=created,
            modified=min(END_MICROS, created + rng.randrange(30 * 86_400 * 1_000_000)),
        )


def user_plan(spec: Spec, index: int) -> tuple[random.Random, list[str], list[tuple[str, int | None]]]:
    rng = random.Random(spec.seed * 1000 + index)
    return rng, tag_names(spec.tags), collection_plan(rng)


def _insert_collections(cur: sqlite3.Cursor, user_id: int, plan: list[tuple[str, int | None]]) -> list[int]:
    ids: list[int] = []
    for position, (name, parent) in enumerate(plan):
        cur.execute(
            "INSERT INTO collections (user_id, parent_id, name, position, created_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, None if parent is None else ids[parent], name, position, END_MICROS - SPAN_MICROS),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def _insert_tags(cur: sqlite3.Cursor, user_id: int, names: list[str]) -> dict[str, int]:
    cur.executemany("INSERT INTO tags (user_id, name) VALUES (?, ?)", [(user_id, n) for n in names])
    rows = cur.execute("SELECT name, id FROM tags WHERE user_id = ?", (user_id,)).fetchall()
    return {name: tag_id for name, tag_id in rows}


def _flush(cur: sqlite3.Cursor, bookmarks: list[tuple], links: list[tuple[int, int]]) -> None:
    cur.executemany(
        "INSERT INTO bookmarks (id, user_id, url, title, description, notes, unread, archived, private,"
        " collection_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bookmarks,
    )
    cur.executemany("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (?, ?)", links)
    bookmarks.clear()
    links.clear()


def _insert_user_data(conn: sqlite3.Connection, spec: Spec, index: int, user_id: int, count: int) -> dict:
    rng, tags, plan = user_plan(spec, index)
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    collection_ids = _insert_collections(cur, user_id, plan)
    tag_ids = _insert_tags(cur, user_id, tags)
    next_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM bookmarks").fetchone()[0]
    first_id, bookmarks, links = next_id, [], []
    for row in bookmark_rows(rng, count=count, tags=tags, collections=len(plan), notes_words=spec.notes_words):
        collection = None if row.collection is None else collection_ids[row.collection]
        bookmarks.append((next_id, user_id, row.url, row.title, row.description, row.notes, row.unread,
                          row.archived, row.private, collection, row.created, row.modified))
        links.extend((next_id, tag_ids[name]) for name in row.tags)
        next_id += 1
        if len(bookmarks) >= BATCH:
            _flush(cur, bookmarks, links)
    _flush(cur, bookmarks, links)
    cur.execute("COMMIT")
    return {"first_id": first_id, "last_id": next_id - 1, "collections": len(plan), "tags": len(tags)}


def create_users(directory: Path, names: list[tuple[str, int]]) -> tuple[Path, list[dict]]:
    """A migrated kura.db under `directory` with these users (the first one admin), one token each."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=directory)
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    users = []
    with db.write_session() as session:
        for position, (name, count) in enumerate(names):
            user = accounts.create_user(session, name=name, is_admin=(position == 0))
            _, token = accounts.create_token(session, user_id=user.id, label="bench")
            users.append({"name": name, "id": user.id, "token": token, "bookmarks": count})
    db.dispose()
    return settings.db_path, users


def prune_change_log(conn: sqlite3.Connection) -> None:
    """Keep only search_log's newest row, as kura-api's minute chore does once its index has applied
    the rest. A bulk build logs every row and link (2 million rows for the 100k dataset, 129 MB of the
    1.2 GB backup database), which a host's database never carries: every backup figure copied,
    checked and packed them, and the bench's API deleted them all in one write a minute after start."""
    conn.execute(PRUNE_SQL, (conn.execute(HEAD_SEQ_SQL).fetchone()[0],))


def build(spec: Spec, directory: Path) -> dict:
    """Create kura.db under `directory` and return its metadata (users, tokens, id ranges, words)."""
    db_path, users = create_users(directory, spec.users())
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        for index, user in enumerate(users):
            user.update(_insert_user_data(conn, spec, index, user["id"], user["bookmarks"]))
        prune_change_log(conn)
        conn.execute("PRAGMA optimize")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"spec": asdict(spec), "key": spec.key(), "users": users, "top_tags": tag_names(2),
            "common_word": vocab.COMMON_WORD, "rare_word": vocab.RARE_WORD, "phrase": " ".join(vocab.PHRASE)}


def cached_build(final: Path, builder: Callable[[Path], dict]) -> tuple[Path, dict]:
    """`final`/kura.db and its metadata, built by `builder(temp_dir)` on first use and renamed into
    place only when complete, so an interrupted build is never mistaken for a cached one."""
    if not (final / "meta.json").exists():
        temp = final.parent / f".building-{final.name}-{os.getpid()}"
        shutil.rmtree(temp, ignore_errors=True)
        try:
            meta = builder(temp)
            (temp / "meta.json").write_text(json.dumps(meta, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(temp, final)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    return final / "kura.db", json.loads((final / "meta.json").read_text())


def cached(spec: Spec, cache_dir: Path) -> tuple[Path, dict]:
    """The cached database for `spec` and its metadata."""
    return cached_build(cache_dir / f"data-{spec.key()}", lambda temp: build(spec, temp))


def copy_database(source: Path, data_dir: Path) -> Path:
    """A private copy for one run (writes in the bench must not touch the cache), at the schema's head."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "kura.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    db = open_database(load_settings(data_dir=data_dir))
    try:
        migrate.upgrade(db)  # a cache built by an older Kura is brought to this one's schema
    finally:
        db.dispose()
    return target
