"""The search parser: what each piece of the language becomes, and what is refused."""

from __future__ import annotations

import pytest

from domain.search import MAX_QUERY_CHARS, MAX_TERMS, BadQuery, ParsedQuery, Term, parse_query


def test_words_are_quoted_and_anded() -> None:
    parsed = parse_query("python  sqlite")
    assert parsed.include == (Term("python"), Term("sqlite"))
    assert parsed.include_match() == '"python" AND "sqlite"'


def test_phrases_prefixes_exclusions_and_tags_are_recognised() -> None:
    parsed = parse_query('"red heron" pyth* -egret -"grey bird" #Birds #"two words" "sql ite"*')
    assert parsed.include == (Term("red heron"), Term("pyth", prefix=True), Term("sql ite", prefix=True))
    assert parsed.exclude == (Term("egret"), Term("grey bird"))
    assert parsed.tags == ("Birds", "two words")
    assert parsed.include_match() == '("red heron" AND "pyth" * AND "sql ite" *) NOT ("egret" OR "grey bird")'


@pytest.mark.parametrize("q, match", [
    ("title:x", '"title:x"'),
    ("NEAR(a b)", '"NEAR(a" AND "b)"'),
    ("a OR b", '"a" AND "OR" AND "b"'),
    ('he"ron"', '"he" AND "ron"'),
    ('x""y', '"x" AND "y"'),
    ("^start", '"^start"'),
])
def test_fts_syntax_typed_by_a_user_stays_inside_quotes(q: str, match: str) -> None:
    assert parse_query(q).include_match() == match


def test_a_quote_inside_a_term_is_doubled() -> None:
    assert Term('say "hi"').fts() == '"say ""hi"""'


def test_terms_without_letters_or_digits_are_dropped() -> None:
    assert parse_query("heron -- * ... ?").include == (Term("heron"),)


def test_a_lone_dash_or_hash_before_a_space_is_just_punctuation() -> None:
    assert parse_query("heron - egret").include == (Term("heron"), Term("egret"))


def test_an_empty_query_means_no_search() -> None:
    parsed = parse_query("   ")
    assert parsed.is_empty and parsed.include_match() is None and parsed.exclude_match() is None


def test_tags_with_exclusions_need_no_words() -> None:
    parsed = parse_query("#code -tips")
    assert parsed.include_match() is None and parsed.exclude_match() == '"tips"'


@pytest.mark.parametrize("q, message", [
    ('"open', "unbalanced quote"),
    ('a -"open', "unbalanced quote"),
    ("-a -b", "not only -exclusions"),
    ("...", "no letters or digits"),
    ("#", "no letters or digits"),
    ('#""', "needs a name"),
    ("#" + "t" * 256, "needs a name"),
    ("x" * (MAX_QUERY_CHARS + 1), "longer than"),
    (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "more than"),
])
def test_queries_that_cannot_mean_anything_are_refused(q: str, message: str) -> None:
    with pytest.raises(BadQuery, match=message) as caught:
        parse_query(q)
    assert caught.value.status == 400


def test_an_empty_parsed_query_has_no_match() -> None:
    assert ParsedQuery().include_match() is None
