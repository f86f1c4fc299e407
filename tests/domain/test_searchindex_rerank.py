"""The re-ranking's word counting: without cutting ASCII text into words, it must count exactly what
the analyzer's words (the index's and FTS5's) hold, or the first page's order would drift from FTS5's."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("tantivy")

from domain.searchindex.rerank import WORDS, Phrase, _count, frequencies  # noqa: E402
from domain.searchindex.schema import FIELDS, WEIGHTS  # noqa: E402

# Letters of both cases, digits, and the separators that sit next to words in titles and URLs
# (an underscore is one: the analyzer keeps letters and digits only).
PIECES = ["to", "toru", "TORU", "Toru", "torus", "ru", "xtoru", "toru9", "9", "a", "_", "-", ".", "/", " ", "  ",
          "\n", "'", "https://", "toru_toru", "toru-toru"]
PHRASES = [("toru",), ("to",), ("ru",), ("9",), ("toru", "toru"), ("toru", "to"), ("a", "toru", "a")]


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))) for _ in range(count)]


@pytest.mark.parametrize("prefix", [False, True], ids=["word", "prefix"])
def test_counting_in_ascii_text_finds_exactly_the_analyzers_words(prefix: bool) -> None:
    texts = _texts(seed=11, count=3000)
    assert all(text.isascii() for text in texts)
    hits = 0
    for words in PHRASES:
        phrase = Phrase(words, prefix, idf=1.0)
        for text in texts:
            expected = _count(WORDS.analyze(text), phrase)
            assert phrase.count(text) == expected, (words, prefix, text)
            hits += expected
    assert hits > 1000  # the texts do hold the phrases, often next to separators and longer words


def test_text_that_is_not_ascii_is_counted_through_the_analyzer() -> None:
    # Folded and lowercased by the analyzer: "Café" holds the word "cafe", "TÖRU" the word "toru".
    assert Phrase(("cafe",), False, idf=1.0).count("Café, cafe; CAFÉ") == 3
    assert Phrase(("toru",), True, idf=1.0).count("TÖRU torus ütoru") == 2
    assert Phrase(("toru", "cafe"), False, idf=1.0).count("toru café toru-cafe") == 2


def test_a_blocks_frequencies_are_each_rows_weighted_counts() -> None:
    # Rows of four columns, empty ones and a few non-ASCII ones among them (those columns are
    # counted text by text): each row's frequency is its own, never a neighbour's across a join.
    texts = _texts(seed=5, count=400) + ["TÖRU toru", "café toru"]
    random.Random(3).shuffle(texts)
    rows = [tuple(texts[i:i + 4]) for i in range(0, len(texts) - 3, 4)]
    found = [Phrase(words, prefix, idf=1.0) for words in PHRASES for prefix in (False, True)]
    expected = [[sum(WEIGHTS[name] * _count(WORDS.analyze(text), phrase) for name, text in zip(FIELDS, row))
                 for phrase in found] for row in rows]
    assert frequencies(rows, found) == expected
    assert any(not "".join(row).isascii() for row in rows) and sum(map(sum, expected)) > 1000
