"""The search language, parsed here and turned into an FTS5 MATCH expression.

    words ANDed   "a phrase"   -exclude   -"excluded phrase"   #tag   #"two words"   prefix*

Every term reaches FTS5 as a double-quoted string (quotes inside doubled), so user input can never
become FTS5 syntax: `title:x`, `NEAR(a b)`, `a OR b` are all just words to look for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import BadRequest
from domain.models import NAME_MAX

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
# C0 controls and DEL, except the whitespace ones (tab, newlines), which separate words as spaces do.
CONTROL = frozenset(map(chr, [*range(0x20), 0x7F])) - set("\t\n\r\v\f")


class BadQuery(BadRequest):
    code = "bad_query"


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"'
        return quoted + " *" if self.prefix else quoted


@dataclass(frozen=True)
class ParsedQuery:
    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    tags: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not (self.include or self.exclude or self.tags)

    def include_match(self) -> str | None:
        """(a AND b) NOT (c OR d); None when there is nothing to look for."""
        if not self.include:
            return None
        positive = " AND ".join(t.fts() for t in self.include)
        if not self.exclude:
            return positive
        return f"({positive}) NOT ({self.exclude_match()})"

    def exclude_match(self) -> str | None:
        return " OR ".join(t.fts() for t in self.exclude) or None


def _read_quoted(q: str, start: int) -> tuple[str, int]:
    """The text between the quote at q[start] and its partner, and the index after the partner."""
    end = q.find('"', start + 1)
    if end < 0:
        raise BadQuery('unbalanced quote in search: every " needs a closing "', details={"position": start})
    return q[start + 1:end], end + 1


def _read_word(q: str, start: int) -> tuple[str, int]:
    end = start
    while end < len(q) and not q[end].isspace() and q[end] != '"':
        end += 1
    return q[start:end], end


def _tokens(q: str) -> list[tuple[str, str, bool]]:
    """(kind, text, prefix) for each token; kind is "+", "-" or "#"."""
    out: list[tuple[str, str, bool]] = []
    i = 0
    while i < len(q):
        if q[i].isspace():
            i += 1
            continue
        kind = "+"
        if q[i] in "-#" and i + 1 < len(q) and not q[i + 1].isspace():
            kind, i = q[i], i + 1
        if q[i] == '"':
            text, i = _read_quoted(q, i)
            prefix = i < len(q) and q[i] == "*"
            i += 1 if prefix else 0
        else:
            text, i = _read_word(q, i)
            prefix = text.endswith("*")
            text = text.rstrip("*")
        out.append((kind, text, prefix))
    return out


def _searchable(text: str) -> bool:
    # FTS5's unicode61 tokenizer indexes letters and digits only; a term without any is a no-op.
    return any(ch.isalnum() for ch in text)


def parse_query(q: str) -> ParsedQuery:
    """Parse the search language; a query that cannot mean anything is a BadQuery (400)."""
    if len(q) > MAX_QUERY_CHARS:
        raise BadQuery(f"search is longer than {MAX_QUERY_CHARS} characters")
    control = next((i for i, ch in enumerate(q) if ch in CONTROL), None)
    if control is not None:
        raise BadQuery("search contains a control character", details={"position": control})
    include: list[Term] = []
    exclude: list[Term] = []
    tags: list[str] = []
    for kind, text, prefix in _tokens(q):
        if kind == "#":
            tag = text.strip()
            if not tag or len(tag) > NAME_MAX:
                raise BadQuery("a #tag in a search needs a name of 1 to 255 characters")
            tags.append(tag)
        elif _searchable(text):
            (include if kind == "+" else exclude).append(Term(text.strip(), prefix))
    if len(include) + len(exclude) + len(tags) > MAX_TERMS:
        raise BadQuery(f"search has more than {MAX_TERMS} terms")
    parsed = ParsedQuery(tuple(include), tuple(exclude), tuple(tags))
    if exclude and not include and not tags:
        raise BadQuery("a search needs at least one word or #tag to look for, not only -exclusions")
    if q.strip() and parsed.is_empty:
        raise BadQuery("search has no letters or digits to look for")
    return parsed
