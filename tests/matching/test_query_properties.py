"""Property tests for the query language: whatever a user types, only ``QueryError`` escapes the parser,
its position points into the query, and every query that parses also compiles and matches any text."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching import QueryError, compile_matcher, parse_query
from bot.models import Article, WatchSpec

TOKENS = [
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR/3",
    "NEAR/0",
    "NEAR/x",
    "NEAR/99999999999",
    "(",
    ")",
    '"',
    "“",
    "”",
    "title:",
    "lang:ko",
    "lang:",
    "lang:xx",
    "title:(",
    "sanction*",
    "*",
    "**",
    "-",
    "--",
    ":",
    "/",
    "Russia",
    "North",
    "Korea",
    "러시아와",
    "북한",
    "России",
    "КНДР",
    "Пхеньяну",
    "treaty",
    "'",
    "\\",
    "AND(",
    ")OR",
    "NOT-",
    "\u00a0",
    "\t",
    "\n",
    "북·러",
    "Kim-Putin",
    "0",
    "42",
    "ǅ",
    "ﬁ",
]

query_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join)
query_glued = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.text(max_size=300)


def _check(text: str) -> None:
    try:
        parse_query(text, max_chars=500, max_depth=20)
    except QueryError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        assert 0 <= err.position <= len(text), (err.position, len(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_soup)
def test_token_soup_only_raises_query_error(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(query_glued)
def test_glued_tokens_only_raise_query_error(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_arbitrary_unicode_only_raises_query_error(text: str) -> None:
    _check(text)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=5000), st.sampled_from(["(", "NOT ", '"', "title:("]))
def test_deep_or_long_queries_are_refused_cleanly(depth: int, opener: str) -> None:
    _check(opener * depth + "x" + ")" * depth)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_soup, any_text, st.sampled_from(["en", "ko", "ru", "und"]))
def test_every_query_that_parses_compiles_and_matches_any_text(query: str, body: str, lang: str) -> None:
    try:
        parse_query(query)
    except QueryError:
        return
    matcher = compile_matcher((), (WatchSpec(id="w", query=query),))
    article = Article(
        feed_url="file:///x",
        entry_id="1",
        url="http://example.org/1",
        title=body[:80],
        summary=body,
        published=datetime(2026, 1, 1, tzinfo=UTC),
        lang=lang,
        source="test",
    )
    result = matcher.match(article)
    for hit in result.watches:
        assert hit.ref == "w"
        ev = hit.evidence  # built lazily: must not raise either
        for start, end in ev.highlights:
            assert 0 <= start <= end <= len(ev.snippet)
