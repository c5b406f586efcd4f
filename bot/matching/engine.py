"""The compiled matcher: the catalog, every watch and the relevance rules in one structure.

How one article is matched:

1. Its words are split once (``text.tokenize``) and each distinct word form is resolved to the *atoms* it
   satisfies (``atoms``): the article's ``View`` holds the word positions of each atom.
2. The relevance rules (``relevance``) read the positions of their word groups.
3. Only the queries that the article's atoms could change are evaluated (``plan``): the facts when the
   article is relevant, the watches always. Queries are compiled into node trees over atoms (``compiler``).
4. Each hit with positive words gets its evidence — the fired words, marked in a snippet — when someone
   first reads ``hit.evidence`` (``plan.DeferredEvidence``).

The matcher is picklable: it pickles as its inputs and is rebuilt on load (compiling is fast).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from bot.matching.atoms import Atoms
from bot.matching.catalog import FACT_QUERY_MAX_CHARS
from bot.matching.compiler import Builder, fast_test, positive_terms, span_group
from bot.matching.evidence import NO_TEXT_EVIDENCE
from bot.matching.plan import DeferredEvidence, Query, Section, plan_section
from bot.matching.query import (
    DEFAULT_MAX_DEPTH,
    Node,
    QueryError,
    QueryTooComplex,
    Terms,
    WatchLimits,
    parse_query,
)
from bot.matching.relevance import RelevanceModel
from bot.matching.statement import StatementModel, without
from bot.matching.text import tokenize
from bot.matching.view import View
from bot.models import Article, Evidence, Fact, Hit, MatchResult, WatchSpec

COMMON_LANGS = ("en", "ko", "ru", "und")
MAX_PLANNED_LANGS = 64  # languages whose plans are kept; rarer ones are planned on each article


class CompiledMatcher:
    """Matches articles against the fact catalog and every watch (see the module docstring). Watch queries
    are parsed within ``limits`` (length, depth, cost), fact queries within the catalog's (``load_catalog``
    checks them). Each watch may do ``limits.work_budget`` units of span work on one article (the facts
    are not limited): one that does more is a miss on that article, reported in
    ``MatchResult.over_budget``."""

    def __init__(
        self,
        facts: tuple[Fact, ...],
        watches: tuple[WatchSpec, ...],
        limits: WatchLimits = WatchLimits(),
    ) -> None:
        self._inputs = (facts, watches, limits)
        self._budget = limits.work_budget
        self._atoms = Atoms()
        builder = Builder(self._atoms)
        parsed: list[tuple[Literal["fact", "watch"], str, Node]] = []
        for fact in facts:
            tree = _parse(fact.query, f"Fact {fact.id!r}", FACT_QUERY_MAX_CHARS, DEFAULT_MAX_DEPTH, None)
            parsed.append(("fact", fact.id, tree))
        for watch in watches:
            tree = _parse(
                watch.query, f"Watch {watch.id!r}", limits.max_chars, limits.max_depth, limits.max_cost
            )
            parsed.append(("watch", watch.id, tree))
        self._trees = [tree for _, _, tree in parsed]
        self._queries: list[Query] = []
        positives: list[list[Terms]] = []
        for kind, ref, tree in parsed:
            terms: list[Terms] = []
            positive_terms(tree, terms)
            positives.append(terms)
            node = builder.node(tree)
            constant = None if terms else Hit(kind, ref, NO_TEXT_EVIDENCE)
            self._queries.append(Query(kind, ref, node, fast_test(node), constant))
        self._n_facts = len(facts)
        self._relevance = RelevanceModel(lambda text: span_group(builder, text))
        self._statement = StatementModel(lambda text: span_group(builder, text))
        self._fact_query = {q.ref: q for q in self._queries if q.kind == "fact"}
        # The page pre-gate: a side named in any form, or a positive word of any watch.
        watch_atoms = {
            self._atoms.atom(w)
            for (kind, _, _), terms in zip(parsed, positives, strict=True)
            if kind == "watch"
            for t in terms
            for w in t.words
        }
        self._page_gate = self._relevance.side_atoms() | frozenset(watch_atoms)
        self._atoms.finish()
        # How many queries read each atom (a short prefix counts as many): the planner watches rare atoms.
        cost: dict[int, int] = defaultdict(int)
        for terms in positives:
            for t in terms:
                for w in t.words:
                    cost[self._atoms.atom(w)] += 1 + (8 if w.wildcard and len(w.text) <= 3 else 0)
        self._cost = dict(cost)
        self._plans: dict[str, tuple[Section, Section]] = {}
        for lang in COMMON_LANGS:
            self._plan_for(lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CompiledMatcher, self._inputs)

    def _plan_for(self, lang: str) -> tuple[Section, Section]:
        plan = self._plans.get(lang)
        if plan is not None:
            return plan
        n_facts, n_all = self._n_facts, len(self._queries)
        plan = (self._section(lang, range(n_facts)), self._section(lang, range(n_facts, n_all)))
        if len(self._plans) < MAX_PLANNED_LANGS:
            self._plans[lang] = plan
        return plan

    def _section(self, lang: str, qids: range) -> Section:
        return plan_section(self._queries, qids, lang, self._trees, self._atoms, self._cost)

    def view(self, article: Article) -> View:
        """``article`` as the compiled queries read it."""
        text = article.text
        tokens = tokenize(text)
        pos = self._atoms.positions(tokens.raw)
        title_len = len(article.title)
        n_title = tokens.words_before(title_len)
        lang = (article.lang or "und").split("-")[0].lower()
        return View(text, title_len, lang, n_title, pos, tokens)

    def relevance(self, article: Article) -> tuple[bool, Evidence | None]:
        """Whether ``article`` is North Korea–Russia coverage, with the evidence for it."""
        return self._relevance.judge(self.view(article))

    def _stated(self, v: View, facts: tuple[Hit, ...]) -> tuple[Hit, ...]:
        """``facts`` without the event facts that no sentence states: asked again without the words that a
        marker of modality leaves unasserted, their query is false (``statement``)."""
        unasserted = self._statement.unasserted(v)
        kept = []
        changed = False
        for hit in facts:
            positions = unasserted.get(hit.ref)
            if positions:
                query = self._fact_query[hit.ref]
                stated = without(v, positions)
                changed = True
                if not query.test(stated):
                    continue
                # The evidence quotes a sentence that states the fact, not the hedged one.
                hit = Hit(hit.kind, hit.ref, DeferredEvidence(query.root, stated))
            kept.append(hit)
        return tuple(kept) if changed else facts

    def wants_page(self, article: Article) -> bool:
        """The cheap pre-gate for fetching an article's page: whether its title and teaser name either side
        in any form the relevance rules know (without a side no fact can match) or a word of any watch."""
        pos = self._atoms.positions(tokenize(article.text).raw)
        return not self._page_gate.isdisjoint(pos)

    def match(self, article: Article) -> MatchResult:
        v = self.view(article)
        relevant, relevance_evidence = self._relevance.judge(v)
        fact_plan, watch_plan = self._plan_for(v.lang)
        queries = self._queries
        facts = fact_plan.hits(v, queries) if relevant else ()
        if facts and not self._statement.facts.isdisjoint(h.ref for h in facts):
            facts = self._stated(v, facts)
        over: list[str] = []
        watches = watch_plan.hits(v, queries, self._budget, over)
        return MatchResult(relevant, facts, watches, relevance_evidence, tuple(over))


def _parse(text: str, what: str, max_chars: int, max_depth: int, max_cost: int | None) -> Node:
    try:
        return parse_query(text, max_chars=max_chars, max_depth=max_depth, max_cost=max_cost).root
    except QueryTooComplex as err:
        raise QueryTooComplex(err.cost, err.max_cost, f"{what}: ") from None
    except QueryError as err:
        raise QueryError(f"{what}: {err}", err.position) from None


def compile_matcher(
    facts: tuple[Fact, ...],
    watches: tuple[WatchSpec, ...],
    *,
    limits: WatchLimits = WatchLimits(),
) -> CompiledMatcher:
    """Compile the catalog and every watch into one matcher (a ``MatcherFactory``). Watch queries must stay
    within ``limits``: pass ``WatchLimits.of(settings)``, the limits ``watch add`` validates against. Each
    watch may do ``limits.work_budget`` units of span work per article (``MatchResult.over_budget``).

    Raises ``QueryError`` (prefixed with the fact or watch id) when a query does not parse: callers
    validate watches on ``watch add``, so a bad one here is a bug worth surfacing, not skipping.
    """
    return CompiledMatcher(tuple(facts), tuple(watches), limits)


_RELEVANCE_ONLY: list[CompiledMatcher] = []


def is_relevant(article: Article) -> tuple[bool, Evidence | None]:
    """Whether ``article`` is North Korea–Russia coverage, with the evidence for it."""
    if not _RELEVANCE_ONLY:
        _RELEVANCE_ONLY.append(CompiledMatcher((), ()))
    return _RELEVANCE_ONLY[0].relevance(article)
