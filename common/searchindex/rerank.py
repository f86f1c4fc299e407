"""FTS5's own bm25, computed for a few candidates, so the order users see is the one they know.

tantivy ranks every match cheaply on its weighted "text" field (block-max WAND skips most of them); that
order is close to FTS5's but not equal (tantivy's length is the weighted one, rounded to a byte). So the matches are cut into blocks of BLOCK in tantivy's
order and each block is re-ordered by FTS5's formula (fts5_aux.c, fts5Bm25Function): the first page,
the one nearly everyone reads, holds exactly FTS5's best BLOCK of the first BLOCK candidates.

A block's scores are shifted below every earlier block's (score - SPAN * block), so (score, id) stays
one total order that pages can continue from.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass

import tantivy

from common.search import ParsedQuery
from common.searchindex.query import top_hits
from common.searchindex.schema import FIELDS, WEIGHTS, analyzer

K1, B = 1.2, 0.75  # FTS5's bm25 constants
BLOCK = 100
SPAN = 1e6  # above any bm25 score: a block's scores never reach the block before
_WEIGHTS = [WEIGHTS[name] for name in FIELDS]
WORDS = analyzer()
TEXTS_SQL = ("SELECT id, title, description, url, notes FROM bookmarks"
             " WHERE id IN (SELECT value FROM json_each(?))")


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    prefix: bool
    idf: float


def _idf(rows: int, hits: int) -> float:
    # FTS5 floors a negative idf (a phrase in more than half the rows) at 1e-6.
    hits = min(hits, rows)  # a prefix's bound can pass the row count
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0 else 1e-6


def rows_with(searcher: tantivy.Searcher, words: list[str], prefix: bool) -> int:
    """Rows holding the phrase in any column, as FTS5 counts them; for a phrase or a prefix, the
    bound the "text" field's term statistics give (FTS5 counts them exactly, at the cost of a scan)."""
    if prefix:
        found = sum(count for _, count in searcher.terms_with_prefix("text", words[-1], limit=1000))
        return min([found, *(searcher.doc_freq("text", w) for w in words[:-1])])
    return min(searcher.doc_freq("text", w) for w in words)


def phrases(searcher: tantivy.Searcher, parsed: ParsedQuery) -> list[Phrase]:
    rows = max(searcher.num_docs, 1)
    out = []
    for term in parsed.include:
        words = WORDS.analyze(term.text)
        if words:
            out.append(Phrase(tuple(words), term.prefix, _idf(rows, rows_with(searcher, words, term.prefix))))
    return out


def _count(tokens: list[str], phrase: Phrase) -> int:
    """How often the phrase occurs in one column's words (its last word as a prefix, for `*`)."""
    words, prefix = phrase.words, phrase.prefix
    if len(words) == 1:
        return sum(1 for token in tokens if token.startswith(words[0])) if prefix else tokens.count(words[0])
    last, body, n = words[-1], list(words[:-1]), len(words)
    hits = 0
    for start in [i for i, token in enumerate(tokens[:len(tokens) - n + 1]) if token == words[0]]:
        end = tokens[start + n - 1]
        if tokens[start:start + n - 1] == body and (end.startswith(last) if prefix else end == last):
            hits += 1
    return hits


def bm25(texts: tuple[str, ...], found: list[Phrase], avgdl: float) -> float:
    columns = [WORDS.analyze(text or "") for text in texts]
    length = sum(len(tokens) for tokens in columns)
    norm = K1 * (1 - B + B * length / avgdl)
    score = 0.0
    for phrase in found:
        freq = sum(weight * _count(tokens, phrase) for weight, tokens in zip(_WEIGHTS, columns))
        score += phrase.idf * freq * (K1 + 1) / (freq + norm)
    return score


def rerank_block(conn: sqlite3.Connection, ids: list[int], found: list[Phrase], avgdl: float,
                 block: int) -> list[tuple[int, float]]:
    """The block's candidates by FTS5's bm25 (best first, ties by id), shifted below earlier blocks.
    A candidate deleted in SQLite but not yet in the index drops out here."""
    rows = conn.execute(TEXTS_SQL, (json.dumps(ids),)).fetchall()
    scored = [(row[0], bm25(row[1:], found, avgdl) - SPAN * block) for row in rows]
    return sorted(scored, key=lambda hit: (-hit[1], hit[0]))


def block_of(score: float) -> int:
    return max(0, math.ceil((SPAN - score) / SPAN) - 1)


def exact_page(conn: sqlite3.Connection, searcher: tantivy.Searcher, query: tantivy.Query, found: list[Phrase],
               avgdl: float, *, limit: int, after: tuple[float, int] | None) -> list[tuple[int, float]]:
    """Up to `limit` (id, score) strictly after `after`, block by block in tantivy's order, each block
    in FTS5's. A deep page costs tantivy a longer top-n, never more than one block of re-ranking per
    BLOCK hits returned."""
    block = 0 if after is None else block_of(after[0])
    out: list[tuple[int, float]] = []
    while len(out) < limit:
        candidates = top_hits(searcher, query, limit=(block + 1) * BLOCK)
        chunk = [bookmark_id for bookmark_id, _ in candidates[block * BLOCK:]]
        if not chunk:
            break
        ranked = rerank_block(conn, chunk, found, avgdl, block)
        if after is not None:
            ranked = [hit for hit in ranked if (-hit[1], hit[0]) > (-after[0], after[1])]
        out.extend(ranked)
        if len(candidates) < (block + 1) * BLOCK:
            break  # that was the last block
        block += 1
    return out[:limit]
