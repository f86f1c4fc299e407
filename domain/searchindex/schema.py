"""What the search index holds for a bookmark, and how its text is cut into words.

The four text fields carry the same weights as the SQL search's bm25 (title 10, description 4, url 2,
notes 1). Words are cut as FTS5's `unicode61 remove_diacritics 2` cuts them: runs of letters and
digits, lowercased, accents folded away.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import tantivy

# Bump when the schema or the analyzer changes: an index written by another version is rebuilt.
SCHEMA_VERSION = 2  # 2: the "words" fast field
FIELDS = ("title", "description", "url", "notes")
WEIGHTS = {"title": 10.0, "description": 4.0, "url": 2.0, "notes": 1.0}
WORDS = "kura_words"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def analyzer() -> tantivy.TextAnalyzer:
    # No length filter: FTS5 indexes a 200-letter word too, so a search for it must find it here.
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .build())


_WORDS = analyzer()


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # id is indexed so a changed bookmark can be deleted by query, and fast so hits map to ids without
    # reading stored documents; nothing is stored: SQLite holds the text.
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_unsigned_field("user", indexed=True)
    # The bookmark's length in words (all columns, unweighted): FTS5's bm25 divides by it, and
    # rerank reads it here rather than cutting every candidate's four texts into words again.
    builder.add_unsigned_field("words", fast=True)
    # One text field: each column is added as its own value as often as its bm25 weight (the title
    # ten times), with tantivy's position gap between values. So a word's frequency here is FTS5's
    # weighted one, its document frequency FTS5's "rows holding it in any column", and a phrase
    # cannot match across two columns, as in FTS5.
    builder.add_text_field("text", tokenizer_name=WORDS, index_option="position")
    builder.add_text_field("tags", tokenizer_name="raw", index_option="basic")
    return builder.build()


def register(index: tantivy.Index) -> None:
    """Every Index object needs the analyzer registered before it writes or parses text."""
    index.register_tokenizer(WORDS, analyzer())


def fold_tag(name: str) -> str:
    # Tag names compare with SQLite's NOCASE collation, which folds ASCII letters only.
    return name.translate(_ASCII_LOWER)


def document(row: Sequence) -> tuple[tantivy.Document, int]:
    """A document from a DOCS_SQL row (id, user_id, title, description, url, notes, tags as JSON),
    and its length in words (FTS5's bm25 divides by the average: see rerank)."""
    doc = tantivy.Document()
    doc.add_unsigned("id", row[0])
    doc.add_unsigned("user", row[1])
    length = 0
    for name, text in zip(FIELDS, row[2:6]):
        if text:
            for _ in range(int(WEIGHTS[name])):
                doc.add_text("text", text)
            length += len(_WORDS.analyze(text))
    doc.add_unsigned("words", length)
    for tag in json.loads(row[6]) if row[6] else ():
        doc.add_text("tags", fold_tag(tag))
    return doc, length
