"""Planning: which queries an article's words can change, and the rule that answers each of them.

For each query and article language the planner works out the query's value on an article with none of
its words (its *default*: ``NOT x`` and ``lang:ko`` are true there) and a small *change set* of atoms
without which the value cannot differ from that default (for ``a AND b`` the rarer of the two; for
``a OR b`` both). A query is a *candidate* only when an atom of its change set is present; every other
query takes its default. So negative-only and language-only queries are answered without evaluation, and a
common word shared by thousands of watches does not make all of them candidates.

A candidate is answered by the cheapest rule its shape allows (``Rules``): ``a`` and ``a OR b`` are true
when a word of theirs is present (*sure*), ``NOT a`` and ``lang:ko NOT a`` false (*sure_off*); plain-word
conjunctions (``a b NOT c``) are checked against the article's atoms; the rest run their compiled test
(*tested*, and ``Section.always`` for the few queries true by default that have positive words).

The answer is assembled from precomputed parts, so its cost grows with the candidates, not with the hits:
the hits of the queries true by default without positive words (constant evidence) are built once per
language, in order (``Section.base``); an article's hits are that tuple with the candidates that turned
false cut out and those that turned true spliced in.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.matching.atoms import Atoms
from bot.matching.compiler import (
    BoolFn,
    MatchNode,
    OrNode,
    conjunction,
    negated_presence,
    presence_atoms,
)
from bot.matching.query import And, Lang, Near, Node, Not, Terms
from bot.matching.view import UNLIMITED, OverBudget, View
from bot.models import Evidence, Hit


def default_and_change(
    node: Node, lang: str, atoms: Atoms, cost: dict[int, int]
) -> tuple[bool, frozenset[int]]:
    """A query's value on an article in ``lang`` with none of its words, and its change set."""
    if isinstance(node, Terms):
        ids = [atoms.atom(w) for w in node.words]
        return False, frozenset([min(ids, key=lambda a: cost.get(a, 0))])
    if isinstance(node, Lang):
        return node.lang == lang, frozenset()
    if isinstance(node, Not):
        value, change = default_and_change(node.child, lang, atoms, cost)
        return not value, change
    if isinstance(node, Near):
        _, lc = default_and_change(node.left, lang, atoms, cost)
        _, rc = default_and_change(node.right, lang, atoms, cost)
        return False, min(lc, rc, key=lambda c: sum(cost.get(a, 0) for a in c))
    children = [default_and_change(c, lang, atoms, cost) for c in node.children]
    if isinstance(node, And):
        value = all(v for v, _ in children)
        # A false AND stays false while any one false child stays false: watch the cheapest such child.
        decisive = [c for v, c in children if not v] if not value else []
    else:
        value = any(v for v, _ in children)
        decisive = [c for v, c in children if v] if value else []
    if decisive:
        return value, min(decisive, key=lambda c: sum(cost.get(a, 0) for a in c))
    return value, frozenset().union(*(c for _, c in children))


class DeferredEvidence:
    """A hit's evidence, built from its query's compiled tree and the article's ``View`` on first read. It
    pickles as that evidence once built, else as the tree and the view (plain data)."""

    __slots__ = ("_built", "_root", "_view")

    def __init__(self, root: MatchNode, view: View) -> None:
        self._root = root
        self._view = view
        self._built: Evidence | None = None

    def build(self) -> Evidence:
        built = self._built
        if built is None:
            built = self._built = self._view.evidence(self._root.witness(self._view))
        return built

    def __reduce__(self) -> tuple[Any, ...]:
        if self._built is not None:
            return (_as_is, (self._built,))
        return (DeferredEvidence, (self._root, self._view))


def _as_is(evidence: Evidence) -> Evidence:
    return evidence


Conjunction = tuple[int, tuple[int, ...], tuple[int, ...]]  # query, the atoms it needs, those it excludes


@dataclass(frozen=True, slots=True)
class Rules:
    """What the presence of one atom does (query numbers): makes ``tested`` candidates, makes ``sure`` true,
    makes ``sure_off`` false, and makes each conjunction true whose other atoms agree."""

    tested: tuple[int, ...] = ()
    sure: tuple[int, ...] = ()
    sure_off: tuple[int, ...] = ()
    conjunctions: tuple[Conjunction, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled query as the sections read it."""

    kind: Literal["fact", "watch"]
    ref: str
    root: MatchNode
    test: BoolFn
    constant: Hit | None  # the hit of a query without positive words (no text to quote), else None


@dataclass(frozen=True, slots=True)
class Section:
    """The facts (or the watches) as planned for one language (see the module docstring)."""

    rules: dict[int, Rules]  # by atom
    always: tuple[int, ...]  # true by default, with positive words: evaluated on every article
    base: tuple[Hit, ...]  # the constant hits of the queries true by default, in query order
    slot: dict[int, int] = field(default_factory=dict)  # query -> ~its place in ``base``, or where it goes

    def hits(
        self, v: View, queries: list[Query], budget: int | None = None, over: list[str] | None = None
    ) -> tuple[Hit, ...]:
        """``base`` with the queries whose value on this article differs from their default cut out or
        spliced in. With a ``budget``, each query tested may do that much span work (``View.charge``): one
        that does more is false on this article, and its ref is added to ``over``."""
        pos = v.pos
        keys = pos.keys()
        candidates = set(self.always)
        true: set[int] = set()
        off: set[int] = set()  # the queries a present atom makes false
        rules = self.rules
        for atom in keys & rules.keys() if len(rules) < len(pos) else filter(rules.__contains__, pos):
            rule = rules[atom]
            candidates.update(rule.tested)
            true.update(rule.sure)
            off.update(rule.sure_off)
            for query, required, excluded in rule.conjunctions:
                if all(map(keys.__contains__, required)) and keys.isdisjoint(excluded):
                    true.add(query)
        if budget is None:
            true.update(q for q in candidates if queries[q].test(v))
        else:
            over_budget = self._tested(candidates, v, queries, budget, true)
            if over_budget:
                true.difference_update(over_budget)
                if over is not None:
                    over.extend(queries[q].ref for q in sorted(over_budget))
        slot = self.slot
        changes = true.symmetric_difference([q for q in candidates if slot[q] < 0])  # < 0: true by default
        changes.update(off)
        if not changes:
            return self.base
        return self._splice(sorted(changes), v, queries)

    @staticmethod
    def _tested(candidates: set[int], v: View, queries: list[Query], budget: int, true: set[int]) -> set[int]:
        """Add to ``true`` the candidates whose test is true within ``budget``; return those over it."""
        over_budget: set[int] = set()
        v.limit = budget
        try:
            for q in candidates:
                v.work = 0
                try:
                    if queries[q].test(v):
                        true.add(q)
                except OverBudget:
                    over_budget.add(q)
        finally:
            v.work = 0
            v.limit = UNLIMITED
        return over_budget

    def _splice(self, changes: list[int], v: View, queries: list[Query]) -> tuple[Hit, ...]:
        """``base`` up to each change, then the change: a cut (``slot[q] < 0``), or a new hit."""
        base, slot = self.base, self.slot
        out: list[Hit] = []
        done = 0  # base[:done] is settled
        for q in changes:
            k = slot[q]
            if k < 0:  # true by default, false here: cut base[~k]
                k = ~k
                out += base[done:k]
                done = k + 1
            else:
                if k != done:
                    out += base[done:k]
                    done = k
                query = queries[q]
                constant = query.constant
                if constant is None:
                    constant = Hit(query.kind, query.ref, DeferredEvidence(query.root, v))
                out.append(constant)
        out += base[done:]
        return tuple(out)


def plan_section(
    queries: list[Query], qids: range, lang: str, trees: list[Node], atoms: Atoms, cost: dict[int, int]
) -> Section:
    """The section of the queries ``qids`` (facts, or watches) for articles in ``lang``."""
    always: list[int] = []
    base_qids: list[int] = []
    tested: dict[int, list[int]] = defaultdict(list)
    sure: dict[int, list[int]] = defaultdict(list)
    sure_off: dict[int, list[int]] = defaultdict(list)
    conjunctions: dict[int, list[Conjunction]] = defaultdict(list)
    for qid in qids:
        node = queries[qid].root
        value, change = default_and_change(trees[qid], lang, atoms, cost)
        if value and queries[qid].constant is None:
            always.append(qid)
            continue
        rule = tested
        if value:
            base_qids.append(qid)
            if change == negated_presence(node, lang):
                rule = sure_off
        elif change == presence_atoms(node):
            rule = sure
        elif isinstance(node, OrNode) and node.simple & change:
            # ``a OR "b c"``: true when ``a`` is present; the phrase's word needs the test.
            for atom in node.simple & change:
                sure[atom].append(qid)
            change = change - node.simple
        elif (shape := conjunction(node, lang)) is not None:
            required, excluded = shape
            entry = (qid, tuple(required), tuple(excluded))
            for atom in change:
                conjunctions[atom].append(entry)
            continue
        for atom in change:
            rule[atom].append(qid)
    rules = {
        atom: Rules(
            tuple(tested.get(atom, ())),
            tuple(sure.get(atom, ())),
            tuple(sure_off.get(atom, ())),
            tuple(conjunctions.get(atom, ())),
        )
        for atom in sorted(tested.keys() | sure.keys() | sure_off.keys() | conjunctions.keys())
    }
    base_at = {q: i for i, q in enumerate(base_qids)}
    base = tuple(hit for q in base_qids if (hit := queries[q].constant) is not None)
    slot = {q: ~base_at[q] if q in base_at else bisect_left(base_qids, q) for q in qids}
    return Section(rules, tuple(always), base, slot)
