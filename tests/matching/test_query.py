from __future__ import annotations

import pytest

from bot.matching import QueryError, parse_query
from bot.matching.query import And, Lang, Near, Not, Or, Terms, Word


def words(node: object) -> tuple[str, ...]:
    assert isinstance(node, Terms)
    return tuple(w.text for w in node.words)


def test_single_word_is_normalised() -> None:
    assert words(parse_query("ＲＵＳＳＩＡ").root) == ("russia",)


def test_implicit_and_and_explicit_and_are_the_same() -> None:
    assert parse_query("a b").root == parse_query("a AND b").root
    assert isinstance(parse_query("a b").root, And)


def test_or_binds_looser_than_and() -> None:
    root = parse_query("a b OR c").root
    assert isinstance(root, Or)
    assert isinstance(root.children[0], And)
    assert words(root.children[1]) == ("c",)


def test_not_binds_tighter_than_and() -> None:
    root = parse_query("a NOT b c").root
    assert isinstance(root, And)
    assert isinstance(root.children[1], Not)
    assert words(root.children[2]) == ("c",)


def test_minus_is_not() -> None:
    assert parse_query("a -b").root == parse_query("a NOT b").root


def test_parentheses_override_precedence() -> None:
    root = parse_query("(a OR b) c").root
    assert isinstance(root, And)
    assert isinstance(root.children[0], Or)


def test_lower_case_operators_are_words() -> None:
    root = parse_query("war and peace").root
    assert isinstance(root, And)
    assert [words(c) for c in root.children] == [("war",), ("and",), ("peace",)]


def test_phrase_and_hyphenated_word_are_phrases() -> None:
    assert words(parse_query('"North Korea"').root) == ("north", "korea")
    assert words(parse_query("north-korea").root) == ("north", "korea")
    assert words(parse_query("북·러").root) == ("북", "러")


def test_typographic_quotes_make_a_phrase() -> None:
    assert words(parse_query("“north korea”").root) == ("north", "korea")


def test_wildcard() -> None:
    root = parse_query("sanction*").root
    assert isinstance(root, Terms)
    assert root.words == (Word("sanction", wildcard=True),)
    assert parse_query("북*").root == Terms((Word("북", True),), "북*")


def test_near_default_and_explicit_distance() -> None:
    root = parse_query("putin NEAR/3 kim").root
    assert isinstance(root, Near) and root.distance == 3
    near = parse_query("putin NEAR kim").root
    assert isinstance(near, Near) and near.distance == 10


def test_near_binds_tighter_than_and() -> None:
    root = parse_query("a NEAR/2 b c").root
    assert isinstance(root, And)
    assert isinstance(root.children[0], Near)


def test_near_accepts_or_groups() -> None:
    root = parse_query("(putin OR kremlin) NEAR/5 (kim OR pyongyang)").root
    assert isinstance(root, Near)


def test_title_scope_applies_to_group() -> None:
    root = parse_query("title:(a OR b)").root
    assert isinstance(root, Or)
    assert all(isinstance(c, Terms) and c.title_only for c in root.children)


def test_lang_scope() -> None:
    assert parse_query("lang:KO").root == Lang("ko")
    assert parse_query("lang:en-US").root == Lang("en")


def test_negative_only_and_language_only_queries_parse() -> None:
    assert isinstance(parse_query("NOT russia").root, Not)
    assert isinstance(parse_query("lang:ru NOT sport").root, And)


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("(russia OR korea", 0, 'expected ")"'),
        ("russia OR korea)", 15, 'no "("'),
        ('"north korea', 0, "closing quote"),
        ("russia AND", 10, "after \"AND\""),
        ("russia OR OR korea", 10, "after \"OR\""),
        ("NOT", 3, "after \"NOT\""),
        ("", 0, "Empty query"),
        ("   ", 0, "Empty query"),
        ("a NEAR/0 b", 2, "NEAR/n"),
        ("a NEAR/x b", 2, "NEAR/n"),
        ("(a AND b) NEAR/3 c", 10, "both sides"),
        ("lang: ko", 5, "language code"),
        ("lang:", 5, "language code"),
        ("s*", 1, "at least 2"),
        ("sanc*ion", 4, "only end a word"),
        ("*", 0, "only end a word"),
        ("()", 0, "Empty parentheses"),
        ("title: x", 6, "right after"),
    ],
)
def test_errors_name_position_and_expectation(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert f"position {position}" in str(info.value)
    assert fragment in str(info.value)


def test_error_example_from_the_brief() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("(russia AND (korea OR dprk)")
    expected = 'Unbalanced parenthesis at position 0: expected ")" before the end of the query.'
    assert str(info.value) == expected


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


def test_length_limit() -> None:
    parse_query("a" * 500)
    with pytest.raises(QueryError) as info:
        parse_query("a" * 501)
    assert info.value.position == 500
    with pytest.raises(QueryError):
        parse_query("a" * 50, max_chars=10)


def test_depth_limit() -> None:
    parse_query("(" * 20 + "a" + ")" * 20)
    with pytest.raises(QueryError) as info:
        parse_query("(" * 21 + "a" + ")" * 21)
    assert "nested too deeply" in str(info.value)
    with pytest.raises(QueryError):
        parse_query("NOT " * 25 + "a")


@pytest.mark.parametrize(
    "junk", ['"', "((((", "NEAR/5", "-", "AND OR NOT", "title:", "a NEAR", ")(", "*" * 10]
)
def test_only_query_error_escapes(junk: str) -> None:
    with pytest.raises(QueryError):
        parse_query(junk)
