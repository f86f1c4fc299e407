"""FTS5's own bm25, computed for a few candidates, so the order users see is the one they know.

tantivy ranks every match cheaply on its weighted "text" field (block-max WAND skips most of them); that
order is close to FTS5's but not equal (tantivy's length is the weighted one, rounded to a byte). So the matches are cut into blocks of BLOCK in tantivy's
order and each block is re-ordered by FTS5's formula (fts5_aux.c, fts5Bm25Function): the first page,
the one nearly everyone reads, holds exactly FTS5's best BLOCK of the first BLOCK candidates.

A block's scores are shifted below every earlier block's (score - SPAN * block), so (score, id) stays
one total order that pages can continue from.

Re-ranking must cost little next to the search itself (cutting a block's 400 texts into words cost
more than tantivy's whole search), so a bookmark's length in words is kept in the index (the "words"
fast field), and in ASCII text (nearly every bookmark's) a phrase is counted without cutting the text
into words: a substring search, each find checked to stand as a word of its own (see Phrase.count).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

import orjson
import tantivy

from common.sqlite import sqlite3
from domain.search import ParsedQuery
from domain.searchindex.query import ranked_hits
from domain.searchindex.schema import FIELDS, WEIGHTS, analyzer

K1, B = 1.2, 0.75  # FTS5's bm25 constants
BLOCK = 100
SPAN = 1e6  # above any bm25 score: a block's scores never reach the block before
_WEIGHTS = [WEIGHTS[name] for name in FIELDS]
WORDS = analyzer()
TEXTS_SQL = ("SELECT id, title, description, url, notes FROM bookmarks"
             " WHERE id IN (SELECT value FROM json_each(?))")
# The analyzer's words in ASCII text: runs of letters and digits, lowercased (ascii_fold has nothing to do).
_ASCII_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    prefix: bool
    idf: float

    def count(self, text: str) -> int:
        """How often it occurs in one column's text, as FTS5 counts. ASCII text (nearly every
        bookmark's) is not cut into words: a one-word phrase is found by substring search, then
        checked to stand as a word of its own, and a column without every word of a longer phrase
        even as a substring (most columns of most candidates) holds none."""
        if not text.isascii():
            return _count(WORDS.analyze(text), self)
        lowered = text.lower()
        if len(self.words) == 1:
            return sum(1 for _ in _word_starts(lowered, self.words[0], self.prefix))
        if not all(word in lowered for word in self.words):
            return 0
        return _count(_ASCII_WORD.findall(lowered), self)


def _word_starts(lowered: str, word: str, prefix: bool) -> Iterator[int]:
    """Where `word` stands in lowercased ASCII text as the analyzer would cut it out (for a prefix, as
    the start of a word): no letter or digit just before, nor just after. Two such words cannot
    overlap, so the search resumes after each find."""
    size = len(word)
    start = lowered.find(word)
    while start >= 0:
        end = start + size
        if (start == 0 or not lowered[start - 1].isalnum()) and \
                (prefix or end == len(lowered) or not lowered[end].isalnum()):
            yield start
        start = lowered.find(word, end)


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


def frequencies(texts: list[tuple[str | None, ...]], found: list[Phrase]) -> list[list[float]]:
    """For each row's (title, description, url, notes), each phrase's weighted frequency as FTS5's
    bm25 sums it: column weight x occurrences. Column by column over the whole block: a one-word
    phrase is searched for once in the column's texts joined by newlines (no word crosses one), so
    the Python work is per occurrence, not per text; a column with any non-ASCII text, and a longer
    phrase, are counted text by text."""
    freqs = [[0.0] * len(found) for _ in texts]
    for column, weight in enumerate(_WEIGHTS):
        values = [row[column] or "" for row in texts]
        joined = "\n".join(values)
        ascii_column = joined.isascii()
        lowered = joined.lower() if ascii_column else ""
        starts = list(accumulate((len(value) + 1 for value in values), initial=0))
        for p, phrase in enumerate(found):
            if ascii_column and len(phrase.words) == 1:
                for position in _word_starts(lowered, phrase.words[0], phrase.prefix):
                    freqs[bisect_right(starts, position) - 1][p] += weight
                continue
            for r, value in enumerate(values):
                if value:
                    freqs[r][p] += weight * phrase.count(value)
    return freqs


def bm25(freqs: list[float], length: int, found: list[Phrase], avgdl: float) -> float:
    """FTS5's bm25 of one row: `freqs` per phrase (see frequencies), `length` its words in all columns."""
    norm = K1 * (1 - B + B * length / avgdl)
    return sum(phrase.idf * freq * (K1 + 1) / (freq + norm) for phrase, freq in zip(found, freqs))


def rerank_block(conn: sqlite3.Connection, lengths: dict[int, int], found: list[Phrase], avgdl: float,
                 block: int) -> list[tuple[int, float]]:
    """The block's candidates (id -> length in words) by FTS5's bm25 (best first, ties by id),
    shifted below earlier blocks. A candidate deleted in SQLite but not yet in the index drops out."""
    rows = conn.execute(TEXTS_SQL, (orjson.dumps(list(lengths)).decode(),)).fetchall()
    freqs = frequencies([row[1:] for row in rows], found)
    scored = [(row[0], bm25(row_freqs, lengths[row[0]], found, avgdl) - SPAN * block)
              for row, row_freqs in zip(rows, freqs)]
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
        candidates = ranked_hits(searcher, query, limit=(block + 1) * BLOCK)
        chunk = candidates[block * BLOCK:]
        if not chunk:
            break
        words = searcher.fast_field_values("words", [address for _, _, address in chunk])
        lengths = {bookmark_id: length or 0 for (bookmark_id, _, _), length in zip(chunk, words)}
        ranked = rerank_block(conn, lengths, found, avgdl, block)
        if after is not None:
            ranked = [hit for hit in ranked if (-hit[1], hit[0]) > (-after[0], after[1])]
        out.extend(ranked)
        if len(candidates) < (block + 1) * BLOCK:
            break  # that was the last block
        block += 1
    return out[:limit]
