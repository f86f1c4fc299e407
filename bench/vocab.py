"""A fixed, seeded vocabulary with a Zipf-like frequency, so searches have common and rare words.

The words are made of syllables rather than taken from a dictionary so the list is self-contained
and identical on every machine; the generator's seed only decides how they are combined.
"""

from __future__ import annotations

import bisect
import itertools
import random

SYLLABLES = ("ka", "ru", "mi", "to", "sen", "lo", "da", "vi", "ne", "po", "shi", "ga", "tan", "re", "yu", "bo")
VOCAB_SIZE = 4000
VOCAB_SEED = 20261123  # fixed: the vocabulary never changes with the data seed


def _make_vocab() -> tuple[str, ...]:
    rng = random.Random(VOCAB_SEED)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCAB_SIZE:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return tuple(words)


VOCAB: tuple[str, ...] = _make_vocab()
# Zipf with s=1: the word at rank r is drawn with weight 1/(r+1).
_CUMULATIVE = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(VOCAB_SIZE)))

COMMON_WORD = VOCAB[20]  # about 1 in 170 words: roughly one bookmark in eight
RARE_WORD = VOCAB[3000]  # about 1 in 26,000 words: a few dozen bookmarks in 100k
PHRASE = (VOCAB[1], VOCAB[2])  # adjacent only by chance: a few thousand bookmarks in 100k


def words(rng: random.Random, count: int) -> list[str]:
    """`count` words drawn with the Zipf weights (rank 0 most often)."""
    total = _CUMULATIVE[-1]
    return [VOCAB[bisect.bisect_left(_CUMULATIVE, rng.random() * total)] for _ in range(count)]


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(words(rng, rng.randint(low, high)))
