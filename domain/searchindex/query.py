"""The search language (domain.search's ParsedQuery) as a tantivy query, and one ranked page of ids.

Matching follows the FTS5 MATCH the SQL search builds: every word or "phrase" must occur within one
column, a prefix* matches words that start with it, -exclusions and #tags filter. Everything runs on
the "text" field, where each column stands as often as its bm25 weight, so tantivy's own BM25 order is
close to FTS5's; rerank.py then orders the blocks a page shows exactly as FTS5 would.
"""

from __future__ import annotations

import math

import tantivy

from domain.search import ParsedQuery, Term
from domain.searchindex.schema import analyzer, fold_tag

Should, Must, MustNot = tantivy.Occur.Should, tantivy.Occur.Must, tantivy.Occur.MustNot
_WORDS = analyzer()
# Up to this many words a prefix stands for are searched one by one (scored, and skippable by
# block-max WAND); past it, the prefix matches through a phrase-prefix query and its commonest
# expansions give the score.
PREFIX_EXPANSIONS = 64


def _tantivy_idf(rows: int, docs: int) -> float:
    return math.log(1 + (rows - docs + 0.5) / (docs + 0.5))


def _prefix(schema: tantivy.Schema, searcher: tantivy.Searcher, words: list[str]) -> tantivy.Query:
    """`"a b" *` as FTS5 means it. Each expansion is boosted to the idf of the prefix as a whole,
    as FTS5 counts a prefix as one phrase: a rare expansion must not outrank a common one."""
    if len(words) > 1:
        matching = tantivy.Query.phrase_prefix_query(schema, "text", words)
        scored = tantivy.Query.phrase_query(schema, "text", words[:-1]) if len(words) > 2 else \
            tantivy.Query.term_query(schema, "text", words[0])
        return tantivy.Query.boolean_query([(Must, tantivy.Query.const_score_query(matching, 0.0)),
                                            (Should, scored)])
    expansions = searcher.terms_with_prefix("text", words[0], limit=PREFIX_EXPANSIONS + 1)
    rows = max(searcher.num_docs, 1)
    whole = _tantivy_idf(rows, min(rows, sum(count for _, count in expansions)))
    scored = [(Should, tantivy.Query.boost_query(tantivy.Query.term_query(schema, "text", term),
                                                 whole / _tantivy_idf(rows, count)))
              for term, count in expansions[:PREFIX_EXPANSIONS]]
    if len(expansions) <= PREFIX_EXPANSIONS:
        return tantivy.Query.boolean_query(scored) if scored else tantivy.Query.empty_query()
    matching = tantivy.Query.phrase_prefix_query(schema, "text", words)
    return tantivy.Query.boolean_query([(Must, tantivy.Query.const_score_query(matching, 0.0)), *scored])


def term_query(schema: tantivy.Schema, searcher: tantivy.Searcher, term: Term) -> tantivy.Query | None:
    """The term, scored; None when it has no words to look for. "text" holds each column as its own
    values, with a position gap between values, so a phrase never matches across two columns."""
    words = _WORDS.analyze(term.text)
    if not words:
        return None
    if term.prefix:
        return _prefix(schema, searcher, words)
    if len(words) == 1:
        return tantivy.Query.term_query(schema, "text", words[0])
    return tantivy.Query.phrase_query(schema, "text", words)


def _filter(query: tantivy.Query) -> tuple[tantivy.Occur, tantivy.Query]:
    # Filters must match but must not move the score.
    return Must, tantivy.Query.const_score_query(query, 0.0)


def build_query(schema: tantivy.Schema, searcher: tantivy.Searcher, *, user_id: int,
                parsed: ParsedQuery) -> tantivy.Query | None:
    """The whole search for one user; None when it has no word to rank by (the SQL list answers
    tag-only searches, ordered by date)."""
    clauses = [_filter(tantivy.Query.term_query(schema, "user", user_id))]
    for term in parsed.include:
        query = term_query(schema, searcher, term)
        if query is not None:
            clauses.append((Must, query))
    if len(clauses) == 1:
        return None
    for term in parsed.exclude:
        query = term_query(schema, searcher, term)
        if query is not None:
            clauses.append((MustNot, query))
    for tag in parsed.tags:
        clauses.append(_filter(tantivy.Query.term_query(schema, "tags", fold_tag(tag))))
    return tantivy.Query.boolean_query(clauses)


def ranked_hits(searcher: tantivy.Searcher, query: tantivy.Query, *,
                limit: int) -> list[tuple[int, float, tantivy.DocAddress]]:
    """The first `limit` (id, tantivy score, address) in the order (score descending, id ascending).

    tantivy breaks ties by its own document order, so a top-n cut inside a group of equal scores may
    hold any of them: the group at the cut is dropped, and the top-n grows until what is left holds
    `limit` hits or every match."""
    fetch = 2 * limit + 16  # room for the tie group at the cut: a refetch costs a whole search
    while True:
        hits = searcher.search(query, fetch, count=False).hits
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        ranked = sorted(((i, score, address) for i, (score, address) in zip(ids, hits)),
                        key=lambda hit: (-hit[1], hit[0]))
        if len(hits) < fetch:
            return ranked[:limit]
        trusted = [hit for hit in ranked if hit[1] > ranked[-1][1]]
        if len(trusted) >= limit:
            return trusted[:limit]
        fetch *= 4


def top_hits(searcher: tantivy.Searcher, query: tantivy.Query, *, limit: int) -> list[tuple[int, float]]:
    """ranked_hits without the addresses."""
    return [(bookmark_id, score) for bookmark_id, score, _ in ranked_hits(searcher, query, limit=limit)]
