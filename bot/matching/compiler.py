"""Compiling: a parsed query's syntax tree → a tree of nodes with words resolved to the matcher's atoms.

A compiled node answers ``test`` (is it true on an article's ``View``), ``spans`` (where: positional nodes
only) and ``witness`` (the positive words that made a true node true, for the evidence). The nodes are
plain data, so a hit's evidence can be built after a process boundary. ``fast_test`` flattens a tree into
closures that check the plain words of an AND / OR together as sets; the shape helpers at the end tell the
planner which cheaper rule a query allows.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import compress
from operator import not_

from bot.matching.atoms import Atoms
from bot.matching.query import And, Lang, Near, Node, Not, Or, Terms, parse_query
from bot.matching.view import Span, View

MAX_SPANS = 256  # word positions considered per side of a NEAR / phrase start, to bound the work
MAX_EVIDENCE = 12  # fired words collected per query for its evidence
SMALL_JOIN = 64  # a NEAR with at most this many pairs of spans compares them all, uncounted (no sorting)

BoolFn = Callable[[View], bool]
SpanFn = Callable[[View], list[Span]]


class MatchNode:
    """A compiled query node. ``test``: is it true; ``spans``: where (positional nodes only);
    ``witness``: the positive words that made a true node true, with the terms as written."""

    __slots__ = ()

    def test(self, v: View) -> bool:
        raise NotImplementedError

    def spans(self, v: View) -> list[Span]:
        raise TypeError(f"not a positional node: {self!r}")  # the parser never builds this

    def witness(self, v: View) -> list[tuple[Span, str]]:
        return []


def _quoted(spans: list[Span], display: str) -> list[tuple[Span, str]]:
    """The witness of a word or phrase: its first places, each with the term as the query wrote it."""
    return [(s, display) for s in spans[:MAX_EVIDENCE]]


@dataclass(frozen=True, slots=True, eq=False)
class WordNode(MatchNode):
    atom: int
    display: str
    title_only: bool

    def test(self, v: View) -> bool:
        if self.title_only:
            ps = v.pos.get(self.atom)
            return ps is not None and ps[0] < v.n_title
        return self.atom in v.pos

    def spans(self, v: View) -> list[Span]:
        ps = v.pos.get(self.atom)
        if not ps:
            return []
        if self.title_only:
            ps = ps[: min(bisect_left(ps, v.n_title), MAX_SPANS)]
            return list(zip(ps, ps, strict=True))
        ps = ps[:MAX_SPANS]
        return list(zip(ps, ps, strict=True))  # (p, p) for each position

    def witness(self, v: View) -> list[tuple[Span, str]]:
        return _quoted(self.spans(v), self.display)


@dataclass(frozen=True, slots=True, eq=False)
class PhraseNode(MatchNode):
    first: int
    rest: tuple[int, ...]
    display: str
    title_only: bool

    def test(self, v: View) -> bool:
        return bool(self.spans(v))

    def spans(self, v: View) -> list[Span]:
        pos = v.pos
        starts = pos.get(self.first)
        if not starts:
            return []
        if len(starts) > SMALL_JOIN:  # fewer places are checked at once, uncounted
            v.charge(len(self.rest) * min(len(starts), MAX_SPANS))
        soft = v.tokens.soft
        return phrase_spans(
            pos, self.first, self.rest, soft, v.n_title if self.title_only else len(soft), MAX_SPANS
        )

    def witness(self, v: View) -> list[tuple[Span, str]]:
        return _quoted(self.spans(v), self.display)


@dataclass(frozen=True, slots=True, eq=False)
class NearNode(MatchNode):
    left: MatchNode
    right: MatchNode
    distance: int

    def test(self, v: View) -> bool:
        ls = self.left.spans(v)
        if not ls:
            return False
        rs = self.right.spans(v)
        if len(ls) * len(rs) > SMALL_JOIN:
            return bool(near_join(ls, rs, self.distance, v, 1))
        distance = self.distance  # few pairs (the usual case): compared inline, uncounted
        for l0, l1 in ls:
            for r0, r1 in rs:
                if max(r0 - l1, l0 - r1) - 1 <= distance:
                    return True
        return False

    def spans(self, v: View) -> list[Span]:
        ls = self.left.spans(v)
        if not ls:
            return []
        return near_join(ls, self.right.spans(v), self.distance, v, MAX_SPANS)

    def witness(self, v: View) -> list[tuple[Span, str]]:
        out: list[tuple[Span, str]] = []
        rs = self.right.witness(v)
        distance = self.distance
        for ls, lt in self.left.witness(v):
            for rs_, rt in rs:
                if max(rs_[0] - ls[1], ls[0] - rs_[1]) - 1 <= distance:
                    out += [(ls, lt), (rs_, rt)]
                    if len(out) >= MAX_EVIDENCE:
                        return out
        return out


@dataclass(frozen=True, slots=True, eq=False)
class OrNode(MatchNode):
    children: tuple[MatchNode, ...]
    simple: frozenset[int]  # atoms of the plain-word children, looked up together by ``spans``
    parts: tuple[MatchNode, ...]  # the other children
    gates: tuple[int, ...] | None  # per part, an atom without which it has no spans (None: not all have one)
    gate_sets: tuple[frozenset[int], ...] | None  # else per part, atoms one of which it needs (None: not all)

    def test(self, v: View) -> bool:
        return any(c.test(v) for c in self.children)

    def spans(self, v: View) -> list[Span]:
        pos = v.pos
        simple = self.simple
        out = point_spans(
            pos, simple.intersection(pos) if len(pos) < len(simple) else pos.keys() & simple, MAX_SPANS
        )
        for part in self.live_parts(pos):
            if len(out) >= MAX_SPANS:
                break
            out.extend(part.spans(v))
        del out[MAX_SPANS:]
        return out

    def live_parts(self, pos: dict[int, list[int]]) -> Iterable[MatchNode]:
        """The parts that can have spans in an article whose atoms are ``pos``'s keys."""
        if self.gates is not None:
            return compress(self.parts, map(pos.__contains__, self.gates))
        if self.gate_sets is not None:  # (china OR 中) NEAR/1 russia: when a word on its left is present
            keys = pos.keys()
            return compress(self.parts, map(not_, map(keys.isdisjoint, self.gate_sets)))
        return self.parts

    def witness(self, v: View) -> list[tuple[Span, str]]:
        out: list[tuple[Span, str]] = []
        for c in self.children:
            if c.test(v):
                out.extend(c.witness(v))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class AndNode(MatchNode):
    children: tuple[MatchNode, ...]

    def test(self, v: View) -> bool:
        return all(c.test(v) for c in self.children)

    def witness(self, v: View) -> list[tuple[Span, str]]:
        out: list[tuple[Span, str]] = []
        for c in self.children:
            if not c.test(v):
                return []
            out.extend(c.witness(v))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class NotNode(MatchNode):
    child: MatchNode

    def test(self, v: View) -> bool:
        return not self.child.test(v)


@dataclass(frozen=True, slots=True, eq=False)
class LangNode(MatchNode):
    lang: str

    def test(self, v: View) -> bool:
        return v.lang == self.lang


def plain_word(node: MatchNode) -> bool:
    return isinstance(node, WordNode) and not node.title_only


class Builder:
    """Syntax tree → compiled nodes, with the matcher's atoms.

    Atoms are numbered in the order ``node`` meets them, except that an OR inside NEAR (or compiled for its
    positions) numbers its plain words first. The iteration order of atom sets — and so which of several
    equally good words the relevance evidence quotes — follows this numbering.
    """

    def __init__(self, atoms: Atoms) -> None:
        self.atoms = atoms

    def node(self, node: Node, positional: bool = False) -> MatchNode:
        if isinstance(node, Terms):
            ids = [self.atoms.atom(w) for w in node.words]
            if len(ids) == 1:
                return WordNode(ids[0], node.display, node.title_only)
            return PhraseNode(ids[0], tuple(ids[1:]), node.display, node.title_only)
        if isinstance(node, Lang):
            return LangNode(node.lang)
        if isinstance(node, Not):
            return NotNode(self.node(node.child))
        if isinstance(node, Near):
            return NearNode(self.node(node.left, True), self.node(node.right, True), node.distance)
        if isinstance(node, And):
            return AndNode(tuple(self.node(c) for c in node.children))
        if isinstance(node, Or):
            if positional:
                for c in node.children:
                    if isinstance(c, Terms) and len(c.words) == 1 and not c.title_only:
                        self.atoms.atom(c.words[0])
            children = tuple(self.node(c, positional) for c in node.children)
            simple = frozenset(c.atom for c in children if isinstance(c, WordNode) and not c.title_only)
            parts = tuple(c for c in children if not plain_word(c))
            gate_sets = tuple(_gate(c) for c in parts)
            if all(len(g) == 1 for g in gate_sets):
                return OrNode(children, simple, parts, tuple(min(g) for g in gate_sets), None)
            return OrNode(children, simple, parts, None, None if frozenset() in gate_sets else gate_sets)
        raise TypeError(f"unknown node: {node!r}")  # pragma: no cover


def span_group(builder: Builder, text: str) -> tuple[SpanFn, frozenset[int]]:
    """A relevance word group compiled for its positions, with every atom it reads."""
    node = builder.node(parse_query(text, max_chars=10_000).root, True)
    return functools.partial(group_spans, node), frozenset(atoms_in(node))


def group_spans(node: MatchNode, v: View) -> list[Span]:
    """The spans of a relevance word group: those of ``node``, except that an OR (the usual group) keeps the
    first ``MAX_SPANS`` of each alternative rather than of all together. The groups are the project's own
    data, not users': the relevance rules count every cue of a long article."""
    if not isinstance(node, OrNode):
        return node.spans(v)
    pos = v.pos
    simple = node.simple
    out = point_spans(
        pos, simple.intersection(pos) if len(pos) < len(simple) else pos.keys() & simple, MAX_SPANS, False
    )
    for part in node.live_parts(pos):
        out.extend(group_spans(part, v))
    return out


def atoms_in(node: MatchNode) -> list[int]:
    if isinstance(node, WordNode):
        return [node.atom]
    if isinstance(node, PhraseNode):
        return [node.first, *node.rest]
    if isinstance(node, NearNode):
        return atoms_in(node.left) + atoms_in(node.right)
    if isinstance(node, NotNode):
        return atoms_in(node.child)
    if isinstance(node, OrNode | AndNode):
        return [a for c in node.children for a in atoms_in(c)]
    return []


def _gate(node: MatchNode) -> frozenset[int]:
    """Atoms one of which must be present for ``node`` to have spans (empty: no such set)."""
    if isinstance(node, WordNode):
        return frozenset([node.atom])
    if isinstance(node, PhraseNode):
        return frozenset([node.first])
    if isinstance(node, NearNode):
        return _gate(node.left) or _gate(node.right)
    if isinstance(node, OrNode):
        gates = [_gate(c) for c in node.children]
        return frozenset() if frozenset() in gates else frozenset().union(*gates)
    return frozenset()


def presence_atoms(node: MatchNode) -> frozenset[int] | None:
    """For ``a`` and ``a OR b`` (plain words): the atoms whose presence alone makes the query true."""
    if plain_word(node):
        assert isinstance(node, WordNode)
        return frozenset([node.atom])
    if isinstance(node, OrNode) and all(plain_word(c) for c in node.children):
        return node.simple
    return None


def fast_test(node: MatchNode) -> BoolFn:
    """``node.test`` as flat closures: plain words of an AND / OR are checked together as sets."""
    if isinstance(node, WordNode) and not node.title_only:
        a = node.atom
        return lambda v: a in v.pos
    if isinstance(node, NotNode):
        inner = fast_test(node.child)
        return lambda v: not inner(v)
    if isinstance(node, AndNode):
        req = frozenset(c.atom for c in node.children if isinstance(c, WordNode) and plain_word(c))
        neg = frozenset(
            c.child.atom
            for c in node.children
            if isinstance(c, NotNode) and isinstance(c.child, WordNode) and plain_word(c.child)
        )
        rest = tuple(
            fast_test(c)
            for c in node.children
            if not (plain_word(c) or (isinstance(c, NotNode) and plain_word(c.child)))
        )
        if not rest:
            if not neg:
                return lambda v: v.pos.keys() >= req
            return lambda v: v.pos.keys() >= req and v.pos.keys().isdisjoint(neg)

        def and_test(v: View) -> bool:
            keys = v.pos.keys()
            return keys >= req and keys.isdisjoint(neg) and all(t(v) for t in rest)

        return and_test
    if isinstance(node, OrNode):
        some = node.simple
        others = tuple(fast_test(c) for c in node.parts)
        if not others:
            return lambda v: not v.pos.keys().isdisjoint(some)
        if len(others) == 1:
            other = others[0]
            return lambda v: not v.pos.keys().isdisjoint(some) or other(v)

        def or_test(v: View) -> bool:
            return not v.pos.keys().isdisjoint(some) or any(t(v) for t in others)

        return or_test
    return node.test


def near_join(ls: list[Span], rs: list[Span], distance: int, v: View, limit: int) -> list[Span]:
    """The spans of ``left NEAR/distance right`` from the first ``MAX_SPANS`` spans of each side: for each
    left span in order, each right span in order at most ``distance`` words away, joined — the first
    ``limit`` of them. The work (spans read, pairs compared, spans made) is charged to ``v``.

    Two spans are near when ``r0 <= l1 + distance + 1`` and ``r1 >= l0 - distance - 1``. Few pairs are all
    compared; else the right spans are sorted by start once and each left span bisects to the right spans
    whose start can be in its window (a right span is at most ``width`` words long), so the work is about
    ``(L + R) log R`` plus the pairs in the windows, and stops at ``limit`` spans."""
    ls = ls[:MAX_SPANS]
    rs = rs[:MAX_SPANS]
    n_left, n_right = len(ls), len(rs)
    out: list[Span] = []
    if not n_right:
        return out
    if n_left * n_right <= SMALL_JOIN:  # at most SMALL_JOIN comparisons: uncounted
        for l0, l1 in ls:
            for r0, r1 in rs:
                if max(r0 - l1, l0 - r1) - 1 <= distance:
                    out.append((min(l0, r0), max(l1, r1)))
                    if len(out) >= limit:
                        return out
        return out
    order = sorted(range(n_right), key=rs.__getitem__)
    starts = [rs[i][0] for i in order]
    width = max(r1 - r0 for r0, r1 in rs)
    steps = (n_left + n_right) * n_right.bit_length()
    sort_back = order != list(range(n_right))  # the right spans were not in start order: keep theirs
    for l0, l1 in ls:
        floor = l0 - distance - 1
        lo = bisect_left(starts, floor - width)
        hi = bisect_right(starts, l1 + distance + 1, lo)
        if lo == hi:
            continue
        steps += hi - lo
        near = [i for i in order[lo:hi] if rs[i][1] >= floor] if width else order[lo:hi]
        if sort_back:
            near.sort()
        for i in near:
            r0, r1 = rs[i]
            out.append((min(l0, r0), max(l1, r1)))
        if len(out) >= limit:
            del out[limit:]
            break
        if steps > 4096:
            v.charge(steps)
            steps = 0
    v.charge(steps + len(out))
    return out


def point_spans(
    pos: dict[int, list[int]], atoms: Iterable[int], max_spans: int, in_all: bool = True
) -> list[Span]:
    """``(p, p)`` for the positions ``p`` of each atom, in the order of ``atoms``: the first ``max_spans`` in
    all (``in_all``), else of each atom."""
    out: list[Span] = []
    for a in atoms:
        if not in_all:
            ps = pos[a][:max_spans]
            out += zip(ps, ps, strict=True)
            continue
        ps = pos[a][: max_spans - len(out)]
        out += zip(ps, ps, strict=True)
        if len(out) >= max_spans:
            break
    return out


def phrase_spans(
    pos: dict[int, list[int]],
    first: int,
    rest: tuple[int, ...],
    soft: tuple[bool, ...],
    limit: int,
    max_spans: int,
) -> list[Span]:
    """``(p, p + len(rest))`` for each of the first ``max_spans`` positions ``p`` of ``first`` that the words
    of ``rest`` follow, joined by soft separators, ending before word ``limit``."""
    starts = pos.get(first)
    if not starts:
        return []
    sets = []
    for a in rest:
        if a not in pos:
            return []
        sets.append(frozenset(pos[a]))
    width = len(rest)
    out: list[Span] = []
    for p in starts[:max_spans]:
        if p + width >= limit:
            break
        if all(p + i in s and soft[p + i] for i, s in enumerate(sets, 1)):
            out.append((p, p + width))
    return out


def conjunction(node: MatchNode, lang: str) -> tuple[frozenset[int], frozenset[int]] | None:
    """For ``a b NOT c`` (plain words; ``lang:`` parts true in ``lang``): the atoms it needs and excludes."""
    if not isinstance(node, AndNode):
        return None
    required: list[int] = []
    excluded: list[int] = []
    for c in node.children:
        if isinstance(c, WordNode) and not c.title_only:
            required.append(c.atom)
        elif isinstance(c, NotNode) and isinstance(c.child, WordNode) and not c.child.title_only:
            excluded.append(c.child.atom)
        elif not (isinstance(c, LangNode) and c.lang == lang):
            return None
    return (frozenset(required), frozenset(excluded)) if required else None


def negated_presence(node: MatchNode, lang: str) -> frozenset[int] | None:
    """For ``NOT a``, ``NOT (a OR b)``, ``lang:ko NOT a`` (true in ``lang``): the atoms whose presence
    alone makes it false."""
    if isinstance(node, NotNode):
        return presence_atoms(node.child)
    if isinstance(node, AndNode):
        rest = [c for c in node.children if not (isinstance(c, LangNode) and c.lang == lang)]
        if len(rest) == 1 and isinstance(rest[0], NotNode):
            return presence_atoms(rest[0].child)
    return None


def positive_terms(node: Node, out: list[Terms]) -> None:
    if isinstance(node, Terms):
        if node not in out:
            out.append(node)
    elif isinstance(node, And | Or):
        for c in node.children:
            positive_terms(c, out)
    elif isinstance(node, Near):
        positive_terms(node.left, out)
        positive_terms(node.right, out)
