"""The optimised matcher against a straightforward evaluation, and its results across a process boundary.

The matcher plans which queries to evaluate (defaults and change sets), answers common shapes with set
operations, splices precomputed hits and builds evidence lazily. The reference here evaluates every
query's compiled tree on every article and builds every evidence eagerly on a fresh view.
"""

from __future__ import annotations

import pickle
import random
from dataclasses import FrozenInstanceError

import pytest

from bot.matching import compile_matcher
from bot.matching.engine import CompiledMatcher
from bot.matching.evidence import NO_TEXT_EVIDENCE
from bot.matching.plan import DeferredEvidence
from bot.models import Article, Evidence, Fact, Hit, MatchResult, WatchSpec
from tests.matching.conftest import make_article


def _split(text: str) -> list[str]:
    return text.split()


WORDS = {
    "en": _split(
        "Russia North Korea Pyongyang Moscow Kremlin military talks treaty missile troops sanctions Putin "
        "Kim defence cooperation trade oil border bridge Kursk Ukraine drone shells delegation visit "
        "agreement partnership alliance soldiers weapons port Vladivostok China Seoul election football "
        "market weather the of and to in a is that said"
    ),
    "ko": _split(
        "러시아 북한 평양 모스크바 군사 회담 조약 미사일 병력 제재 푸틴 김정은 협력 무역 국경 쿠르스크 "
        "우크라이나 포탄 대표단 방문 협정 동맹 무기 중국 서울 선거 축구 그 및 등 것 밝혔다"
    ),
    "ru": _split(
        "Россия России Россией КНДР Пхеньян Пхеньяну Москва Кремль военное сотрудничество переговоры "
        "договор ракеты войска санкции Путин Ким оборона торговля граница мост Курская Украина снаряды "
        "делегация визит соглашение партнерство союз оружие Китай выборы футбол и в на что"
    ),
}
PARTICLES = ["", "", "이", "가", "을", "의", "와", "에서", "는"]


def _articles(n: int, rng: random.Random) -> list[Article]:
    out = []
    for i in range(n):
        lang = ("en", "ko", "ru", "und", "en-GB")[i % 5]
        words = WORDS[lang[:2] if lang != "und" else rng.choice(["en", "ko", "ru"])]

        def sentence(k: int, words: list[str] = words, lang: str = lang) -> str:
            picked = [rng.choice(words) for _ in range(k)]
            if lang == "ko":
                picked = [p + rng.choice(PARTICLES) for p in picked]
            return " ".join(picked)

        title = sentence(rng.randint(3, 8))
        summary = " ".join(sentence(rng.randint(5, 12)) + rng.choice([".", ",", ";", "!"]) for _ in range(6))
        out.append(make_article(title, summary if i % 7 else "", lang))
    return out


def _watches(n: int, rng: random.Random) -> list[WatchSpec]:
    def term() -> str:
        words = WORDS[rng.choice(["en", "ko", "ru"])]
        word = rng.choice(words[:-6])
        roll = rng.random()
        if roll < 0.15 and len(word) > 4:
            return word[: len(word) - 2] + "*"
        if roll < 0.3:
            return f'"{word} {rng.choice(words)}"'
        if roll < 0.35:
            return f"title:{word}"
        return word

    shapes = [
        lambda: f"NOT {term()}",
        lambda: f"lang:{rng.choice(['en', 'ko', 'ru'])}",
        lambda: f"lang:ko NOT {term()}",
        lambda: f"NOT ({term()} OR {term()})",
        lambda: f"NOT lang:{rng.choice(['en', 'ru'])}",
        lambda: f"{term()} NEAR/{rng.randint(1, 6)} {term()}",
        lambda: f"{term()} OR {term()}",
        lambda: f"{term()} OR {term()} OR {term()}",
        lambda: f"{term()} {term()} NOT {term()}",
        lambda: f"lang:ru {term()} {term()}",
        lambda: f"{term()} OR NOT {term()}",
        lambda: f"({term()} OR {term()}) NEAR/3 {term()}",
        lambda: f"NOT NOT {term()}",
        lambda: " ".join(term() for _ in range(rng.randint(1, 4))),
    ]
    return [WatchSpec(f"w{i}", rng.choice(shapes)()) for i in range(n)]


def _reference(matcher: CompiledMatcher, article: Article) -> tuple[object, ...]:
    """Every query evaluated on its own, evidence built eagerly (no plans, no shortcuts, no laziness)."""
    v = matcher.view(article)
    relevant, relevance = matcher._relevance.judge(v)
    facts, watches = [], []
    for qid, query in enumerate(matcher._queries):
        is_fact = qid < matcher._n_facts
        if (is_fact and not relevant) or not query.root.test(v):
            continue
        fresh = matcher.view(article)
        constant = query.constant
        evidence = constant.evidence if constant is not None else fresh.evidence(query.root.witness(fresh))
        (facts if is_fact else watches).append((query.ref, evidence))
    return relevant, relevance, facts, watches


def _observed(result: MatchResult) -> tuple[object, ...]:
    return (
        result.relevant,
        result.relevance,
        [(h.ref, h.evidence) for h in result.facts],
        [(h.ref, h.evidence) for h in result.watches],
    )


@pytest.mark.slow
def test_optimised_engine_agrees_with_per_query_evaluation(catalog: tuple[Fact, ...]) -> None:
    rng = random.Random(20240619)
    watches = _watches(600, rng)
    matcher = compile_matcher(catalog, tuple(watches))
    articles = [
        *_articles(300, rng),
        make_article("Putin and Kim sign mutual defence treaty in Pyongyang", "Russia and North Korea."),
        make_article(
            "푸틴, 김정은과 포괄적 전략적 동반자 조약 체결", "러시아와 북한이 조약에 서명했다.", "ko"
        ),
        make_article("Путин и Ким подписали договор", "Россия и КНДР заключили соглашение.", "ru"),
    ]
    kinds = {"negative or language only": 0, "positive": 0}
    for article in articles:
        result = matcher.match(article)
        assert _observed(result) == _reference(matcher, article), article.title
        for hit in result.watches:
            kinds["positive" if hit.evidence.terms else "negative or language only"] += 1
    # The generated set exercises both kinds, and facts (the catalog) on the relevant articles.
    assert min(kinds.values()) > 100
    assert any(matcher.match(a).facts for a in articles[-3:])


def test_negative_and_language_only_watches_keep_constant_evidence() -> None:
    matcher = compile_matcher((), (WatchSpec("neg", "NOT sport"), WatchSpec("ko", "lang:ko NOT sport")))
    result = matcher.match(make_article("선거 소식", "", "ko"))
    assert result.watch_ids == ("neg", "ko")
    assert all(h.evidence == NO_TEXT_EVIDENCE for h in result.watches)
    assert matcher.match(make_article("sport 소식", "", "ko")).watch_ids == ()


def _feed(matcher: CompiledMatcher, n: int = 50) -> list[MatchResult]:
    rng = random.Random(7)
    return [matcher.match(a) for a in _articles(n, rng)]


def test_match_results_pickle_cheaply_and_keep_lazy_evidence(catalog: tuple[Fact, ...]) -> None:
    rng = random.Random(3)
    matcher = compile_matcher(catalog, tuple(_watches(300, rng)))
    results = _feed(matcher)
    data = pickle.dumps(tuple(results))
    # Each article's text crosses once, however many hits share it; a hit costs a few bytes.
    hits = sum(len(r.facts) + len(r.watches) for r in results)
    sources = [h.source for r in results for h in r.watches[:1]]
    contexts = [s._view for s in sources if isinstance(s, DeferredEvidence)]
    text = sum(len(c.text.encode()) for c in contexts)
    assert hits > 1_000
    assert len(data) < 2 * text + 40 * hits
    clones = pickle.loads(data)
    # Unpickled hits build the same evidence without the matcher (the view re-splits its text).
    assert [_observed(c) for c in clones] == [_observed(r) for r in results]
    # Once evidence is built it is pickled as a value.
    again = pickle.loads(pickle.dumps(clones))
    assert again == clones


def test_lazy_hit_is_immutable_hashable_and_equal_to_eager_one(catalog: tuple[Fact, ...]) -> None:
    matcher = compile_matcher(catalog, (WatchSpec("w", "kursk"),))
    hit = matcher.match(make_article("Kursk front", "Heavy fighting near Kursk")).watches[0]
    assert isinstance(hit.source, DeferredEvidence)
    eager = Hit(kind="watch", ref="w", source=hit.evidence)
    assert hit == eager and hash(hit) == hash(eager)
    with pytest.raises(FrozenInstanceError):
        hit.ref = "x"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        MatchResult(relevant=False).relevant = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="kind"):
        Hit(kind="other", ref="w", source=Evidence(terms=(), snippet=""))  # type: ignore[arg-type]
