"""The search language (common.search's ParsedQuery) as a tantivy query, and one ranked page of ids.

Matching follows the FTS5 MATCH the SQL search builds: every word or "phrase" must occur in one of
the four fields, a prefix* matches words that start with it, -exclusions and #tags filter. Ranking is
BM25 per field, summed with the SQL search's column weights: bm25-like, not equal to FTS5's numbers.
"""

from __future__ import annotations

import tantivy

from common.search import ParsedQuery, Term
from common.searchindex.schema import FIELDS, WEIGHTS, analyzer, fold_tag

Should, Must, MustNot = tantivy.Occur.Should, tantivy.Occur.Must, tantivy.Occur.MustNot
_WORDS = analyzer()
# A prefix matches every word that starts with it; the most frequent expansions give it a score.
PREFIX_SCORED_TERMS = 16


def _field_query(schema: tantivy.Schema, name: str, words: list[str]) -> tantivy.Query:
    if len(words) == 1:
        return tantivy.Query.term_query(schema, name, words[0])
    return tantivy.Query.phrase_query(schema, name, words)


def _prefix_query(schema: tantivy.Schema, searcher: tantivy.Searcher, name: str,
                  words: list[str]) -> tantivy.Query:
    """Matches as FTS5's `"a b" *` does; the phrase prefix alone scores a constant, so the commonest
    expansions of the last word (or the whole words before it) add a bm25 score on top."""
    matches = tantivy.Query.phrase_prefix_query(schema, name, words)
    if len(words) > 1:
        scored = _field_query(schema, name, words[:-1])
    else:
        expansions = searcher.terms_with_prefix(name, words[0], limit=PREFIX_SCORED_TERMS)
        if not expansions:
            return matches
        scored = tantivy.Query.boolean_query(
            [(Should, tantivy.Query.term_query(schema, name, term)) for term, _ in expansions])
    return tantivy.Query.boolean_query([(Must, tantivy.Query.const_score_query(matches, 0.0)),
                                        (Should, scored)])


def term_query(schema: tantivy.Schema, searcher: tantivy.Searcher, term: Term) -> tantivy.Query | None:
    """The term in any of the four fields, each weighted; None when it has no words to look for."""
    words = _WORDS.analyze(term.text)
    if not words:
        return None
    per_field = []
    for name in FIELDS:
        query = (_prefix_query(schema, searcher, name, words) if term.prefix
                 else _field_query(schema, name, words))
        per_field.append((Should, tantivy.Query.boost_query(query, WEIGHTS[name])))
    return tantivy.Query.boolean_query(per_field)


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


def ranked_page(searcher: tantivy.Searcher, query: tantivy.Query, *, limit: int,
                after: tuple[float, int] | None) -> list[tuple[int, float]]:
    """Up to `limit` (id, score), best first and ties by id, strictly after `after` (score, id).

    tantivy has no "search after", so we fetch a top-n that grows until it holds the page. Hits tied
    at the top-n's lowest score may continue past it, so that score is only trusted when the top-n
    held every match."""
    fetch = limit + max(16, limit // 4)
    while True:
        hits = searcher.search(query, fetch, count=False).hits
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        ranked = sorted(zip(ids, (score for score, _ in hits)), key=lambda hit: (-hit[1], hit[0]))
        complete = len(hits) < fetch
        if not complete:
            floor = ranked[-1][1]
            ranked = [hit for hit in ranked if hit[1] > floor]
        if after is not None:
            ranked = [hit for hit in ranked if (-hit[1], hit[0]) > (-after[0], after[1])]
        if complete or len(ranked) >= limit:
            return ranked[:limit]
        fetch *= 4
