"""The index on disk: built from SQLite, kept in step through search_log, checked by a watermark.

SQLite is the only source of truth. The index directory holds tantivy's files and `watermark.json`:
the (seq, nonce) of the last search_log row applied, written only after tantivy's commit returns, so
a crash between the two leaves the watermark behind and the next sync applies those rows again
(applying is idempotent: delete by id, add the row as it is now).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import tantivy

from common.sqlite import sqlite3
from domain.search import ParsedQuery
from domain.searchindex import sql
from domain.searchindex.query import build_query
from domain.searchindex.rerank import BLOCK, WORDS, block_of, exact_page, phrases, rows_with
from domain.searchindex.schema import SCHEMA_VERSION, document, register

WATERMARK_FILE = "watermark.json"
# tantivy's floor is a few MB per indexing thread; a sync adds a handful of documents, so the API
# process keeps this little resident. A rebuild gets more, for fewer intermediate segments.
SYNC_HEAP_BYTES = 15_000_000
REBUILD_HEAP_BYTES = 64_000_000
SYNC_CHUNK = 2000


class IndexUnusable(Exception):
    """The index is missing, from another version, or from another database: rebuild it."""


class IndexBusy(Exception):
    """Another IndexWriter (a running kura-api, or a rebuild) holds the index's lock."""


def open_writer(index: tantivy.Index, heap_bytes: int) -> tantivy.IndexWriter:
    try:
        return index.writer(heap_size=heap_bytes, num_threads=1)
    except ValueError as exc:
        if "LockBusy" in str(exc):
            raise IndexBusy("another process (kura-api?) is writing the search index") from None
        raise


@dataclass(frozen=True)
class Watermark:
    seq: int
    nonce: int


def read_watermark(index_dir: Path) -> tuple[Watermark, int]:
    """The watermark, and the words in all indexed bookmarks (for bm25's average length)."""
    try:
        data = json.loads((index_dir / WATERMARK_FILE).read_text())
        if data["schema"] != SCHEMA_VERSION:
            raise IndexUnusable(f"search index is schema {data['schema']}, this Kura needs {SCHEMA_VERSION}")
        return Watermark(int(data["seq"]), int(data["nonce"])), int(data["tokens"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(f"search index has no readable watermark: {exc}") from None


def write_watermark(index_dir: Path, mark: Watermark, tokens: int) -> None:
    temp = index_dir / f".{WATERMARK_FILE}.tmp"
    temp.write_text(json.dumps({"schema": SCHEMA_VERSION, "seq": mark.seq, "nonce": mark.nonce, "tokens": tokens}))
    os.replace(temp, index_dir / WATERMARK_FILE)


def head_of(conn: sqlite3.Connection) -> Watermark:
    row = conn.execute(sql.HEAD_SQL).fetchone()
    if row is None:
        raise IndexUnusable("search_log is empty: the migration's sentinel row is missing")
    return Watermark(row[0], row[1])


def recognises(conn: sqlite3.Connection, mark: Watermark) -> bool:
    """Whether the database still holds the log row the index was last brought up to."""
    row = conn.execute(sql.NONCE_SQL, (mark.seq,)).fetchone()
    return row is not None and row[0] == mark.nonce


class SearchIndex:
    """One open index. Searches may run on any thread at once; syncs take turns on a lock."""

    def __init__(self, index_dir: Path, index: tantivy.Index, mark: Watermark, tokens: int) -> None:
        self.index_dir = index_dir
        self._index = index
        self._schema = index.schema
        self._mark = mark
        self._tokens = tokens
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.Lock()
        self._searcher = index.searcher()

    @classmethod
    def open(cls, index_dir: Path) -> SearchIndex:
        mark, tokens = read_watermark(index_dir)
        try:
            index = tantivy.Index.open(str(index_dir))
        except ValueError as exc:
            raise IndexUnusable(f"search index cannot be opened: {exc}") from None
        register(index)
        return cls(index_dir, index, mark, tokens)

    @property
    def watermark(self) -> Watermark:
        return self._mark

    @property
    def document_count(self) -> int:
        return int(self._searcher.num_docs)

    @property
    def avgdl(self) -> float:
        return self._tokens / max(self._searcher.num_docs, 1) or 1.0

    def is_behind(self, conn: sqlite3.Connection) -> bool:
        """One indexed lookup (max of the log's primary key): cheap enough before every search."""
        return conn.execute(sql.HEAD_SEQ_SQL).fetchone()[0] != self._mark.seq

    def sync(self, conn: sqlite3.Connection) -> int:
        """Apply every logged change since the watermark; the number of bookmarks re-indexed.
        `conn` must be outside a transaction. Raises IndexUnusable when the database is not the one
        this index follows."""
        with self._lock:
            conn.execute("BEGIN")  # one snapshot: the log's head and the rows it points at agree
            try:
                if not recognises(conn, self._mark):
                    raise IndexUnusable("search index was built from another database (or a pruned log)")
                head = head_of(conn)
                if head.seq == self._mark.seq:
                    return 0
                changed = [row[0] for row in conn.execute(sql.CHANGED_SQL, (self._mark.seq, head.seq))]
                added = self._stage(conn, changed)
            except BaseException:
                if self._writer is not None:
                    self._writer.rollback()  # nothing half-staged reaches the next commit
                raise
            finally:
                conn.execute("COMMIT")
            self._publish(head, *added)
            return len(changed)

    def _stage(self, conn: sqlite3.Connection, changed: list[int]) -> tuple[int, int]:
        """Delete and re-add the changed bookmarks in the writer, a chunk at a time (a 100k-bookmark
        import arrives as one backlog); (documents, words) added."""
        if self._writer is None:  # kept open: the lock says "this process keeps the index current"
            self._writer = open_writer(self._index, SYNC_HEAP_BYTES)
        documents = words = 0
        for start in range(0, len(changed), SYNC_CHUNK):
            chunk = changed[start:start + SYNC_CHUNK]
            # By query, not by term: delete_documents_by_term takes a Python int as i64, which never
            # equals the u64 id field's terms, so it would silently delete nothing.
            self._writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, "id", chunk))
            for row in conn.execute(sql.DOCS_BY_ID_SQL, (json.dumps(chunk),)):
                doc, length = document(row)
                self._writer.add_document(doc)
                documents, words = documents + 1, words + length
        return documents, words

    def _publish(self, head: Watermark, documents: int, words: int) -> None:
        assert self._writer is not None
        before, avgdl = self._searcher.num_docs, self.avgdl
        self._writer.commit()
        self._index.reload()
        self._searcher = self._index.searcher()
        # The replaced versions' lengths are not known any more: count them at the average.
        removed = before + documents - self._searcher.num_docs
        self._tokens = max(0, round(self._tokens + words - removed * avgdl))
        write_watermark(self.index_dir, head, self._tokens)  # only after the commit: see the docstring
        self._mark = head

    def search_ids(self, conn: sqlite3.Connection, *, user_id: int, query: ParsedQuery, limit: int,
                   after: tuple[float, int] | None = None) -> list[tuple[int, float]]:
        """Up to `limit` (bookmark id, score) of the user's matches, best first (ties by id), after
        the keyset `after` = (score, id) of the previous page's last hit; scores are FTS5's bm25
        (positive, higher is better) within each block (see rerank). `conn` reads the candidates'
        text. Empty when the query has no word to rank by."""
        searcher = self._searcher
        built = build_query(self._schema, searcher, user_id=user_id, parsed=query)
        if built is None or (after is not None and block_of(after[0]) * BLOCK > searcher.num_docs):
            return []  # a keyset past every document: no top-n may be asked for (a forged cursor)
        found = phrases(searcher, query)
        return exact_page(conn, searcher, built, found, self.avgdl, limit=limit, after=after)

    def fewest_rows(self, query: ParsedQuery) -> int:
        """The smallest bound on the rows any included word or phrase occurs in (the whole index)."""
        searcher = self._searcher
        return min((rows_with(searcher, words, term.prefix) for term in query.include
                    if (words := WORDS.analyze(term.text))), default=searcher.num_docs)

    def close(self) -> None:
        """Release the writer's lock (another process may then rebuild)."""
        with self._lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
