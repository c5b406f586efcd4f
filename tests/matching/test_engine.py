from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.matching import QueryError, WatchLimits, compile_matcher
from bot.matching.evidence import NO_TEXT_EVIDENCE, trusted_evidence
from bot.models import Evidence, WatchSpec
from tests.matching.conftest import make_article


def watch_ids(queries: list[str], title: str, summary: str = "", lang: str = "en") -> tuple[str, ...]:
    matcher = compile_matcher((), tuple(WatchSpec(q, q) for q in queries))
    return matcher.match(make_article(title, summary, lang)).watch_ids


def test_boolean_operators() -> None:
    title = "Shoigu arrives in Pyongyang for talks"
    queries = ["shoigu pyongyang", "shoigu AND seoul", "seoul OR pyongyang", "shoigu NOT seoul",
               "shoigu -pyongyang"]
    assert watch_ids(queries, title) == ("shoigu pyongyang", "seoul OR pyongyang", "shoigu NOT seoul")


def test_phrase_requires_adjacent_words_within_one_clause() -> None:
    assert watch_ids(['"north korea russia"'], "North Korea-Russia bridge opens") == ('"north korea russia"',)
    assert watch_ids(['"north korea russia"'], "Sanctions on China, North Korea, Russia") == ()
    assert watch_ids(['"north korea russia"'], "Russia and North Korea") == ()


def test_near_counts_words_in_either_order() -> None:
    title = "Putin says he will soon meet Kim"
    assert watch_ids(["putin NEAR/5 kim"], title) == ("putin NEAR/5 kim",)
    assert watch_ids(["kim NEAR/5 putin"], title) == ("kim NEAR/5 putin",)
    assert watch_ids(["putin NEAR/4 kim"], title) == ()


def test_title_scope() -> None:
    assert watch_ids(["title:kursk"], "Kursk fighting", "Troops advance") == ("title:kursk",)
    assert watch_ids(["title:troops"], "Kursk fighting", "Troops advance") == ()
    assert watch_ids(["troops"], "Kursk fighting", "Troops advance") == ("troops",)


def test_wildcard_matches_word_starts_only() -> None:
    assert watch_ids(["sanction*"], "New sanctions announced") == ("sanction*",)
    assert watch_ids(["sanction*"], "Unsanctioned rally") == ()


def test_negative_only_and_language_only_watches() -> None:
    queries = ["NOT sport", "lang:ko", "lang:ru NOT sport", "NOT lang:en"]
    assert watch_ids(queries, "Election news", lang="ru") == ("NOT sport", "lang:ru NOT sport", "NOT lang:en")
    assert watch_ids(queries, "Sport news", lang="ru") == ("NOT lang:en",)
    assert watch_ids(queries, "선거 소식", lang="ko") == ("NOT sport", "lang:ko", "NOT lang:en")
    assert watch_ids(queries, "Sport", lang="en-GB") == ()


def test_rare_anchor_and_common_word_watches_agree_with_direct_evaluation() -> None:
    # Many watches share "russia"; only those whose other words are present may match.
    queries = [f"russia w{i}" for i in range(50)] + ["russia", "russia NOT w3", "w3 OR w4"]
    got = watch_ids(queries, "Russia w3 news")
    assert got == ("russia w3", "russia", "w3 OR w4")


def test_watches_match_irrelevant_articles_but_facts_do_not(catalog_matcher: object) -> None:
    from bot.matching import load_catalog
    from tests.matching.conftest import REPO

    facts = load_catalog(REPO / "config" / "facts.toml")
    matcher = compile_matcher(facts, (WatchSpec("w", "ratif*"),))
    result = matcher.match(make_article("Senate to ratify US-Japan treaty"))
    assert not result.relevant
    assert result.facts == ()
    assert result.watch_ids == ("w",)


def test_evidence_snippet_marks_the_fired_words_in_original_case() -> None:
    middle = "The Kremlin said ARTILLERY shells from Pyongyang arrived. "
    summary = ("Officials met on Monday. " * 8) + middle + ("More text follows here. " * 8)
    matcher = compile_matcher((), (WatchSpec("w", "artillery NEAR/3 shells"),))
    hit = matcher.match(make_article("Weekly roundup", summary)).watches[0]
    ev = hit.evidence
    assert ev.field == "text"
    assert len(ev.snippet) <= 202
    assert ev.terms == ("artillery", "shells")
    assert [ev.snippet[s:e] for s, e in ev.highlights] == ["ARTILLERY", "shells"]
    assert "[ARTILLERY] [shells]" in ev.marked()
    assert ev.snippet.startswith("…") and ev.snippet.endswith("…")


def test_evidence_prefers_title_when_it_fired_there() -> None:
    matcher = compile_matcher((), (WatchSpec("w", "kursk"),))
    ev = matcher.match(make_article("Kursk front", "Heavy fighting near Kursk")).watches[0].evidence
    assert ev.field == "title"
    assert ev.marked() == "[Kursk] front"


def test_negative_only_watch_has_no_text_evidence() -> None:
    matcher = compile_matcher((), (WatchSpec("w", "NOT sport"),))
    assert matcher.match(make_article("News")).watches[0].evidence == NO_TEXT_EVIDENCE


def test_trusted_evidence_equals_validated_evidence() -> None:
    ev = trusted_evidence(("a",), "a b", ((0, 1),), "text")
    assert ev == Evidence(terms=("a",), snippet="a b", highlights=((0, 1),), field="text")


def test_bad_watch_query_raises_at_compile() -> None:
    with pytest.raises(QueryError) as info:
        compile_matcher((), (WatchSpec("w1", "(russia"),))
    assert "Watch 'w1'" in str(info.value)
    assert info.value.position == 0


def test_matcher_pickles(catalog_matcher: object) -> None:
    from bot.matching.engine import CompiledMatcher

    assert isinstance(catalog_matcher, CompiledMatcher)
    clone = pickle.loads(pickle.dumps(catalog_matcher))
    article = make_article("Putin and Kim sign mutual defence treaty in Pyongyang")
    assert clone.match(article) == catalog_matcher.match(article)


def test_watch_within_raised_query_limits_compiles_and_matches() -> None:
    # A watch that ``watch add`` accepts under raised limits must compile with the same limits.
    long_query = "(" * 25 + "kursk" + ")" * 25 + " OR " + " OR ".join(f"word{i}" for i in range(120))
    assert len(long_query) > 500
    watch = WatchSpec("w", long_query)
    with pytest.raises(QueryError):
        compile_matcher((), (watch,))
    matcher = compile_matcher((), (watch,), limits=WatchLimits(max_chars=2000, max_depth=30))
    assert matcher.match(make_article("Fighting near Kursk")).watch_ids == ("w",)
    clone = pickle.loads(pickle.dumps(matcher))  # the workers rebuild it with the same limits
    assert clone.match(make_article("Fighting near Kursk")).watch_ids == ("w",)


def test_default_matcher_factory_passes_the_settings_limits(tmp_path: Path) -> None:
    from bot.app import default_matcher_factory
    from bot.settings import Settings

    settings = Settings(data_dir=tmp_path, query_max_chars=2000, query_max_depth=8)
    factory = default_matcher_factory(settings)
    query = " OR ".join(f"word{i}" for i in range(150)) + " OR kursk"
    matcher = factory((), (WatchSpec("w", query),))
    assert matcher.match(make_article("Kursk")).watch_ids == ("w",)
