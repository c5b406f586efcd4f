"""Bounded work: capped span lists, the NEAR join, the cost of a query, the per-watch work budget."""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import pytest

from bot.matching import compile_matcher
from bot.matching.compiler import MAX_SPANS, MatchNode, NearNode, OrNode, PhraseNode, WordNode, near_join
from bot.matching.engine import CompiledMatcher
from bot.matching.query import (
    DEFAULT_MAX_COST,
    DEFAULT_WORK_BUDGET,
    QueryError,
    QueryTooComplex,
    WatchLimits,
    parse_query,
    query_cost,
)
from bot.matching.view import Span, View
from bot.models import Article, Fact, WatchSpec
from bot.settings import Settings
from tests.matching.conftest import REPO, make_article

ATTACK = (
    "((((((((the NEAR/100 a) NEAR/100 of) NEAR/100 and) NEAR/100 to) NEAR/100 in) NEAR/100 is)"
    " NEAR/100 for) NEAR/100 on)"
)
HEAVY = "((the NEAR/50 a) NEAR/50 of) NEAR/50 and"  # under the cost limit, but on common words
COMMON = ["the", "a", "of", "and", "to", "in", "is", "for", "on", "with"]
REALISTIC = [
    "putin NEAR/4 kim",
    "(putin OR kim OR lavrov OR shoigu OR choe) NEAR/20 (summit OR talks OR meeting OR visit* OR treaty)",
    '"north korea" NEAR/3 (troops OR soldiers OR workers) NOT lang:ru',
    "((north NEAR/1 korea*) OR 북한* OR кндр) NEAR/30"
    " ((russia* OR 러시아* OR росси*) NEAR/10 (troops OR 파병*))",
    "title:(Shoigu OR Шойгу) AND (Pyongyang OR 평양 OR Пхеньян)",
    "(sanction* OR 제재* OR санкци*) AND (oil OR coal OR 석유 OR нефт*) NOT (iran OR venezuela)",
    '(treaty OR pact OR "mutual defence") NEAR/10 (ratif* OR sign*) title:putin',
    "lang:ko (쿠르스크* OR 파병*)",
]


def long_article(words: int = 4_000, seed: int = 1) -> Article:
    """About 20,000 characters of the commonest words: every one has hundreds of places."""
    rng = random.Random(seed)
    return make_article("The war of the words", " ".join(rng.choice(COMMON) for _ in range(words)))


def readme_examples() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Watch queries", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def default_max_cost(tmp_path: Path) -> int:
    return Settings(data_dir=tmp_path).query_max_cost


# --- span lists and the NEAR join ----------------------------------------------------------------


def quadratic_join(ls: list[Span], rs: list[Span], distance: int) -> list[Span]:
    """The join as it was: every pair of the first MAX_SPANS spans of each side, uncapped."""
    out = []
    for l0, l1 in ls[:MAX_SPANS]:
        for r0, r1 in rs[:MAX_SPANS]:
            if max(r0 - l1, l0 - r1) - 1 <= distance:
                out.append((min(l0, r0), max(l1, r1)))
    return out


def random_spans(rng: random.Random, n: int, width: int) -> list[Span]:
    out = []
    for _ in range(n):
        start = rng.randrange(2_000)
        out.append((start, start + rng.randrange(width + 1)))
    if rng.random() < 0.5:
        out.sort()
    return out


def test_near_join_is_the_quadratic_join_capped() -> None:
    rng = random.Random(3)
    v = View("", 0, "en", 0, {})
    for _ in range(400):
        ls = random_spans(rng, rng.choice((1, 5, 40, 300)), rng.choice((0, 0, 3, 60)))
        rs = random_spans(rng, rng.choice((1, 7, 60, 300)), rng.choice((0, 0, 2, 90)))
        distance = rng.choice((1, 3, 10, 100))
        expected = quadratic_join(ls, rs, distance)
        assert near_join(ls, rs, distance, v, MAX_SPANS) == expected[:MAX_SPANS]
        assert bool(near_join(ls, rs, distance, v, 1)) == bool(expected)


def all_nodes(node: MatchNode) -> list[MatchNode]:
    if isinstance(node, NearNode):
        return [node, *all_nodes(node.left), *all_nodes(node.right)]
    if isinstance(node, OrNode):
        return [node, *(n for c in node.children for n in all_nodes(c))]
    return [node]


def test_every_spans_list_is_capped() -> None:
    query = f'{ATTACK} OR ({" OR ".join(COMMON)}) OR "of the" OR title:(the OR war)'
    matcher = compile_matcher((), (WatchSpec("w", query),), limits=WatchLimits(max_cost=10**30))
    v = matcher.view(long_article(words=6_000))
    root = matcher._queries[0].root
    positional = [n for n in all_nodes(root) if isinstance(n, WordNode | PhraseNode | NearNode | OrNode)]
    assert len(positional) > 20
    assert max(len(n.spans(v)) for n in positional) == MAX_SPANS


# --- the cost of a query ---------------------------------------------------------------------------


def cost(text: str) -> int:
    return query_cost(parse_query(text).root)


def test_cost_model() -> None:
    assert cost("kursk") == 1
    assert cost("kursk*") > cost("kursky") and cost("ku*") > cost("kursk*")
    assert cost('"north korea"') == 2
    assert cost("a OR b OR c") == cost("a b c") == 3 and cost("a NOT b lang:ko") == 2
    assert cost("a NEAR/4 b") == 5
    assert cost("(a OR b OR c) NEAR/4 d") == 3 * 5  # alternatives under a NEAR add, then multiply
    assert cost("(a NEAR/4 b) NEAR/4 c") == 5 * 5  # nesting multiplies
    assert cost("a NEAR/100 b") > cost("a NEAR/10 b")


def test_the_attack_costs_more_than_the_limit_and_fails_to_parse_with_it(tmp_path: Path) -> None:
    limit = default_max_cost(tmp_path)
    assert limit == DEFAULT_MAX_COST
    assert len(ATTACK) < 140 and cost(ATTACK) > 1_000 * limit
    parse_query(ATTACK)  # no limit given: it parses
    with pytest.raises(QueryTooComplex) as exc:
        parse_query(ATTACK, max_cost=limit)
    assert isinstance(exc.value, QueryError)
    message = str(exc.value)
    assert "too complex" in message and "NEAR" in message and message.count(". ") == 0
    with pytest.raises(QueryError, match="too complex"):
        compile_matcher((), (WatchSpec("w", ATTACK),), limits=WatchLimits(max_cost=limit))


def test_catalog_readme_and_realistic_queries_are_under_the_limit(
    tmp_path: Path, catalog: tuple[Fact, ...]
) -> None:
    limit = default_max_cost(tmp_path)
    assert len(catalog) >= 10
    for fact in catalog:
        assert query_cost(parse_query(fact.query, max_chars=10_000).root) <= limit, fact.id
    examples = readme_examples()
    assert len(examples) >= 3
    for text in examples + REALISTIC + [HEAVY]:
        parse_query(text, max_cost=limit)
    # The limit is not far above what the catalog needs: a fifth nested NEAR/100 of single words is over.
    assert cost("((((a NEAR/100 b) NEAR/100 c) NEAR/100 d) NEAR/100 e) NEAR/100 f") > limit


# --- the per-watch work budget ---------------------------------------------------------------------


def test_hundred_heavy_watches_do_bounded_work() -> None:
    bound = 20_000  # span work of one HEAVY watch on the article; the uncapped join did 65,536 per NEAR
    watches = tuple(WatchSpec(f"w{i}", HEAVY) for i in range(100))
    matcher = compile_matcher((), watches, limits=WatchLimits(work_budget=bound))
    article = long_article()
    result = matcher.match(article)
    assert result.over_budget == ()
    assert result.watch_ids == tuple(w.id for w in watches)
    v = matcher.view(article)
    total = 0
    for query in matcher._queries:
        v.work = 0
        assert query.test(v)
        assert 0 < v.work <= bound
        total += v.work
    assert total <= 100 * bound


def test_an_over_budget_watch_misses_alone(catalog: tuple[Fact, ...]) -> None:
    seed_text = (
        "Putin and Kim sign mutual defence treaty in Pyongyang. "
        + "The leaders of the two states said in a statement that the pact is for peace and for the region. "
        * 60
    )
    article = make_article("Putin and Kim sign mutual defence treaty in Pyongyang", seed_text)
    plain = (WatchSpec("kim", "kim"), WatchSpec("near", "putin NEAR/4 kim"), WatchSpec("not", "NOT kursk"))
    heavy = (WatchSpec("heavy", HEAVY), WatchSpec("heavy_not", f"NOT ({HEAVY})"))
    budget = 2_000
    alone = compile_matcher(catalog, plain, limits=WatchLimits(work_budget=budget)).match(article)
    assert alone.relevant and alone.facts and alone.over_budget == ()
    assert alone.watch_ids == ("kim", "near", "not")
    unlimited = compile_matcher(catalog, heavy, limits=WatchLimits(work_budget=10**9)).match(article)
    assert unlimited.watch_ids == ("heavy",) and unlimited.over_budget == ()

    matcher = compile_matcher(catalog, plain[:2] + heavy + plain[2:], limits=WatchLimits(work_budget=budget))
    result = matcher.match(article)
    assert result.over_budget == ("heavy", "heavy_not")
    assert result.watch_ids == ("kim", "near", "not")
    assert result.facts == alone.facts and result.relevance == alone.relevance
    # The facts are not budgeted: the same facts as with no watches at all.
    assert result.fact_ids == compile_matcher(catalog, ()).match(article).fact_ids
    clone: CompiledMatcher = pickle.loads(pickle.dumps(matcher))  # the workers get the same budget
    assert clone.match(article).over_budget == ("heavy", "heavy_not")
    assert matcher.match(make_article("Kim in Moscow")).over_budget == ()


def test_default_budget_leaves_heavy_watches_alone() -> None:
    result = compile_matcher((), (WatchSpec("w", HEAVY),)).match(long_article())
    assert DEFAULT_WORK_BUDGET >= 20_000
    assert result.watch_ids == ("w",) and result.over_budget == ()


def test_default_matcher_factory_passes_the_cost_and_budget(tmp_path: Path) -> None:
    from bot.app import default_matcher_factory

    settings = Settings(data_dir=tmp_path, query_max_cost=100, watch_work_budget=500)
    factory = default_matcher_factory(settings)
    with pytest.raises(QueryTooComplex):
        factory((), (WatchSpec("w", "(a NEAR/10 b) NEAR/10 c"),))  # 11 × 11
    matcher = factory((), (WatchSpec("w", "(the NEAR/9 a) NEAR/9 of"),))
    assert matcher.match(long_article()).over_budget == ("w",)


# --- query text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("near", ["NEAR/²", "NEAR/５", "NEAR/١٢", "NEAR/1²", "NEAR/٣"])
def test_near_takes_ascii_digits_only(near: str) -> None:
    with pytest.raises(QueryError, match=r"Bad NEAR at position 2: expected NEAR/n") as exc:
        parse_query(f"a {near} b")
    assert type(exc.value) is QueryError
    assert parse_query("a NEAR/12 b").root == parse_query("a NEAR/12 b").root


@pytest.mark.parametrize("invisible", ["\u202e", "\u200b", "\u2066", "\ufeff", "\u200d"])
def test_invisible_characters_are_removed_from_queries(invisible: str) -> None:
    text = f"kur{invisible}sk AND{invisible} troops{invisible}"
    query = parse_query(text)
    assert query.text == "kursk AND troops"
    assert query.root == parse_query("kursk AND troops").root
    matcher = compile_matcher((), (WatchSpec("w", text),))
    assert matcher.match(make_article("Troops in Kursk")).watch_ids == ("w",)
