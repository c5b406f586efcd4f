"""The compiled matcher: the catalog, every watch and the relevance rules in one structure.

How one article is matched:

1. Its words are split once (``text.tokenize``). Each distinct word form is resolved to the *atoms* it
   satisfies — a query word's key (stem, Korean base form) or a prefix (``sanction*``, and the stems of
   Russian words, which Snowball does not keep identical across all endings). Exact keys are a hash
   lookup; prefixes are found in one pass of a pyahocorasick automaton (in the compiled extension, by a
   walk over the word's heads through ``_Atoms.trie``, which stops at the first head no prefix starts
   with). Resolutions are cached per word form, so a word seen before costs one dict lookup, and new
   forms are resolved in one batch per article.
2. Only queries that could change their answer are evaluated. For each query and article language the
   compiler works out the query's value on an article with none of its words (its *default*: ``NOT x``
   and ``lang:ko`` are true there) and a small *change set* of atoms without which the value cannot
   differ from that default (for ``a AND b`` the rarer of the two; for ``a OR b`` both). A query is
   evaluated only when an atom of its change set is present; every other query takes its default. So
   negative-only and language-only queries are answered without evaluation, and a common word shared by
   thousands of watches does not make all of them candidates.
3. The answer is assembled from precomputed parts, so its cost grows with the candidates, not with the
   hits. Per language, the hits of the queries that are true by default and have no positive words
   (``NOT x``, ``lang:ko``: constant evidence) are built once, in order; an article's result is that
   tuple with the candidates that turned false cut out and the candidates that turned true spliced in.
   (The few queries true by default that do have positive words are evaluated on every article.)
4. Each hit with positive words gets its evidence — the fired words, marked in a snippet — only when
   someone reads ``hit.evidence``: the hit keeps the query's node tree and the article's ``View``
   (text, language, word positions), plain data shared by all hits of the article, so results stay
   cheap to pickle.

Candidates are answered by the cheapest rule their shape allows (``_Section``): ``a`` / ``a OR b`` are
true and ``NOT a`` / ``lang:ko NOT a`` false as soon as a word is present; plain-word conjunctions
(``a b NOT c``) are checked against the article's atoms without evaluation; the rest run flattened
closures (``_fast_test``). These rules are packed by atom into arrays of C ints, which the extension's
``section_hits`` reads in place (``_section_hits_py`` is its pure-Python reference). Phrases, NEAR and
evidence use the node tree itself; phrase positions and plain words' spans are computed in C too.

The extension (``_speedups.c``, see ``text``) is optional: every compiled function has a pure-Python
reference here or in ``text`` with identical results, which runs when the extension was not built.
Atoms are numbered exactly as before the rewrite (see ``_Builder``), so results, including which words
the relevance evidence quotes, are unchanged.

The matcher is picklable: it pickles as its inputs and is rebuilt on load (compiling is fast).
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from operator import is_, not_
from typing import Any, Literal

import ahocorasick

from bot.matching import relevance
from bot.matching.catalog import FACT_QUERY_MAX_CHARS
from bot.matching.evidence import NO_TEXT_EVIDENCE, build_evidence
from bot.matching.query import And, Lang, Near, Node, Not, Or, Query, QueryError, Terms, Word, parse_query
from bot.matching.text import (
    RU_MAX_ENDING,
    Tokens,
    normalize_many,
    positions,
    ru_ending_ok,
    script_of,
    token_keys_many,
    tokenize,
    word_key,
)
from bot.models import Article, Evidence, Fact, Hit, MatchResult, WatchSpec

log = logging.getLogger(__name__)

WORD_CACHE_MAX = 200_000  # resolved word forms kept per matcher before the cache starts over
MAX_SPANS = 256  # word positions considered per side of a NEAR / phrase start, to bound the work
MAX_EVIDENCE = 12  # fired words collected per query for its evidence
COMMON_LANGS = ("en", "ko", "ru", "und")
MAX_PLANNED_LANGS = 64  # languages whose plans are kept; rarer ones are planned on each article

Span = tuple[int, int]
Fired = tuple[tuple[Span, str], ...]


class View:
    """One article as the compiled queries read it; also the shared context of its lazy hits.

    It pickles as plain data — the text, its language, title size and the word positions of every atom
    (ids of the matcher that made it) — and re-splits the text on first use after unpickling.
    """

    __slots__ = ("_evidence", "_tokens", "lang", "n_title", "pos", "text", "title_len")

    def __init__(
        self,
        text: str,
        title_len: int,
        lang: str,
        n_title: int,
        pos: dict[int, list[int]],
        tokens: Tokens | None = None,
    ) -> None:
        self.text = text
        self.title_len = title_len
        self.lang = lang
        self.n_title = n_title
        self.pos = pos
        self._tokens = tokens
        self._evidence: dict[Fired, Evidence] | None = None

    @property
    def tokens(self) -> Tokens:
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = tokenize(self.text)
        return tokens

    def evidence_for(self, root: _Node) -> Evidence:
        """The evidence of a query (its node tree) that is true on this article."""
        fired = tuple(dict.fromkeys(root.witness(self)))
        cache = self._evidence
        if cache is None:
            cache = self._evidence = {}
        found = cache.get(fired)
        if found is not None:
            return found
        token_spans = self.tokens.spans
        char_spans = [(token_spans[s][0], token_spans[e][1]) for (s, e), _ in fired]
        terms = tuple(dict.fromkeys(term for _, term in fired))
        evidence = cache[fired] = build_evidence(self.text, self.title_len, char_spans, terms)
        return evidence

    def __reduce__(self) -> tuple[Any, ...]:
        return (View, (self.text, self.title_len, self.lang, self.n_title, self.pos))


BoolFn = Callable[[View], bool]
SpanFn = Callable[[View], list[Span]]


# ---------------------------------------------------------------------------------------------------
# Atoms: what a single word of a query asks of a word of the article
# ---------------------------------------------------------------------------------------------------


class _Atoms:
    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.prefix: dict[str, list[tuple[int, bool]]] = defaultdict(list)  # (atom, is_russian_stem)
        self.automaton: Any = None
        self.heads: frozenset[str] = frozenset()
        self.trie: dict[str, tuple[tuple[int, bool], ...]] = {}  # every prefix of a prefix -> its items
        self.cache: dict[str, tuple[int, ...]] = {}  # word as written -> atoms
        self.by_word: dict[str, tuple[int, ...]] = {}  # normalised word -> atoms

    def atom(self, word: Word) -> int:
        ident = ("prefix", word.text) if word.wildcard else ("word", word_key(word.text))
        found = self.ids.get(ident)
        if found is not None:
            return found
        atom = self.ids[ident] = len(self.ids)
        if word.wildcard:
            self.prefix[word.text].append((atom, False))
        else:
            key = ident[1]
            self.exact[key].append(atom)
            if script_of(key) == "ru":
                self.prefix[key].append((atom, True))
        return atom

    def finish(self) -> None:
        self.exact = dict(self.exact)
        self.prefix = dict(self.prefix)
        if self.prefix:
            automaton = ahocorasick.Automaton()
            for prefix, items in self.prefix.items():
                automaton.add_word("\x02" + prefix, (prefix, tuple(items)))
            automaton.make_automaton()
            self.automaton = automaton
            # A word can start with a prefix only if it starts with the prefix's first two characters (or
            # its only one): a set lookup that spares most words the automaton.
            self.heads = frozenset(p[:2] for p in self.prefix)
            # For the compiled lookup: each head of each prefix, so that a word's walk stops early.
            self.trie = {p[:k]: () for p in self.prefix for k in range(1, len(p))}
            self.trie.update((p, tuple(items)) for p, items in self.prefix.items())

    def resolve_many(self, raws: list[str]) -> list[tuple[int, ...]]:
        """The atoms of each word form in ``raws`` (as written), cached by form and by normalised word; the
        words not seen before are resolved in one batch."""
        by_word = self.by_word
        words = normalize_many(raws)
        found: list[tuple[int, ...] | None] = list(map(by_word.get, words))
        if None in found:
            new = [i for i, f in enumerate(found) if f is None]
            fresh = list(dict.fromkeys(words[i] for i in new))
            resolved = dict(zip(fresh, self._atoms_of_many(fresh, token_keys_many(fresh)), strict=True))
            for i in new:
                found[i] = resolved[words[i]]
            if len(by_word) + len(resolved) > WORD_CACHE_MAX:
                by_word.clear()
            by_word.update(resolved)
        cache = self.cache
        if len(cache) + len(raws) > WORD_CACHE_MAX:
            cache.clear()
        cache.update(zip(raws, found, strict=True))  # type: ignore[arg-type]
        return found  # type: ignore[return-value]

    def _atoms_of_many(self, words: list[str], keys: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
        """``_atoms_of`` of each word: in C when the extension was compiled, which walks the word's heads
        through ``trie`` instead of running the automaton (the same atoms, without a Python loop)."""
        return list(map(self._atoms_of, words, keys))

    def _atoms_of(self, word: str, keys: tuple[str, ...]) -> tuple[int, ...]:
        exact = self.exact
        atoms = [a for key in keys for a in exact.get(key, ())]
        if self.automaton is not None and (word[:2] in self.heads or word[:1] in self.heads):
            for _end, (prefix, items) in self.automaton.iter("\x02" + word):
                ending = word[len(prefix) :]
                for atom, russian in items:
                    if not russian or ru_ending_ok(prefix, ending):
                        atoms.append(atom)
        return tuple(atoms) if len(atoms) < 2 else tuple(sorted(set(atoms)))


# ---------------------------------------------------------------------------------------------------
# Compiled queries: syntax trees with words resolved to atoms (plain data, picklable)
# ---------------------------------------------------------------------------------------------------


class _Node:
    """A compiled query node. ``test``: is it true; ``spans``: where (positional nodes only);
    ``witness``: the positive words that made a true node true, with the terms as written."""

    __slots__ = ()

    def test(self, v: View) -> bool:
        raise NotImplementedError

    def spans(self, v: View) -> list[Span]:
        raise TypeError(f"not a positional node: {self!r}")  # the parser never builds this

    def witness(self, v: View) -> list[tuple[Span, str]]:
        return []


@dataclass(frozen=True, slots=True, eq=False)
class _Word(_Node):
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
            ps = ps[: bisect_left(ps, v.n_title)]
            return list(zip(ps, ps, strict=True))
        ps = ps[:MAX_SPANS]
        return list(zip(ps, ps, strict=True))  # (p, p) for each position

    def witness(self, v: View) -> list[tuple[Span, str]]:
        display = self.display
        return [(s, display) for s in self.spans(v)[:MAX_EVIDENCE]]


@dataclass(frozen=True, slots=True, eq=False)
class _Phrase(_Node):
    first: int
    rest: tuple[int, ...]
    display: str
    title_only: bool

    def test(self, v: View) -> bool:
        return bool(self.spans(v))

    def spans(self, v: View) -> list[Span]:
        if self.first not in v.pos:
            return []
        soft = v.tokens.soft
        return phrase_spans(
            v.pos, self.first, self.rest, soft, v.n_title if self.title_only else len(soft), MAX_SPANS
        )

    def witness(self, v: View) -> list[tuple[Span, str]]:
        display = self.display
        return [(s, display) for s in self.spans(v)[:MAX_EVIDENCE]]


@dataclass(frozen=True, slots=True, eq=False)
class _Near(_Node):
    left: _Node
    right: _Node
    distance: int

    def test(self, v: View) -> bool:
        ls = self.left.spans(v)
        if not ls:
            return False
        rs = self.right.spans(v)[:MAX_SPANS]
        distance = self.distance
        for l0, l1 in ls[:MAX_SPANS]:
            for r0, r1 in rs:
                if max(r0 - l1, l0 - r1) - 1 <= distance:
                    return True
        return False

    def spans(self, v: View) -> list[Span]:
        ls = self.left.spans(v)
        if not ls:
            return []
        rs = self.right.spans(v)[:MAX_SPANS]
        distance = self.distance
        out: list[Span] = []
        for l0, l1 in ls[:MAX_SPANS]:
            for r0, r1 in rs:
                if max(r0 - l1, l0 - r1) - 1 <= distance:
                    out.append((min(l0, r0), max(l1, r1)))
        return out

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
class _Or(_Node):
    children: tuple[_Node, ...]
    simple: frozenset[int]  # atoms of the plain-word children, looked up together by ``spans``
    parts: tuple[_Node, ...]  # the other children
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
        if self.gates is not None:
            parts: Iterable[_Node] = compress(self.parts, map(pos.__contains__, self.gates))
        elif self.gate_sets is not None:  # (china OR 中) NEAR/1 russia: when a word on its left is present
            keys = pos.keys()
            parts = compress(self.parts, map(not_, map(keys.isdisjoint, self.gate_sets)))
        else:
            parts = self.parts
        for part in parts:
            out.extend(part.spans(v))
        return out

    def witness(self, v: View) -> list[tuple[Span, str]]:
        out: list[tuple[Span, str]] = []
        for c in self.children:
            if c.test(v):
                out.extend(c.witness(v))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class _And(_Node):
    children: tuple[_Node, ...]

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
class _Not(_Node):
    child: _Node

    def test(self, v: View) -> bool:
        return not self.child.test(v)


@dataclass(frozen=True, slots=True, eq=False)
class _Lang(_Node):
    lang: str

    def test(self, v: View) -> bool:
        return v.lang == self.lang


def _plain_word(node: _Node) -> bool:
    return isinstance(node, _Word) and not node.title_only


class _Builder:
    """Syntax tree → compiled nodes, with the matcher's atoms.

    Atoms are numbered in the order the original closure compiler met them (an OR inside NEAR, or
    compiled for its positions, numbers its plain words first), because the iteration order of atom
    sets — and so which of several equally good words the relevance evidence quotes — follows it.
    """

    def __init__(self, atoms: _Atoms) -> None:
        self.atoms = atoms

    def node(self, node: Node, positional: bool = False) -> _Node:
        if isinstance(node, Terms):
            ids = [self.atoms.atom(w) for w in node.words]
            if len(ids) == 1:
                return _Word(ids[0], node.display, node.title_only)
            return _Phrase(ids[0], tuple(ids[1:]), node.display, node.title_only)
        if isinstance(node, Lang):
            return _Lang(node.lang)
        if isinstance(node, Not):
            return _Not(self.node(node.child))
        if isinstance(node, Near):
            return _Near(self.node(node.left, True), self.node(node.right, True), node.distance)
        if isinstance(node, And):
            return _And(tuple(self.node(c) for c in node.children))
        if isinstance(node, Or):
            if positional:
                for c in node.children:
                    if isinstance(c, Terms) and len(c.words) == 1 and not c.title_only:
                        self.atoms.atom(c.words[0])
            children = tuple(self.node(c, positional) for c in node.children)
            simple = frozenset(c.atom for c in children if isinstance(c, _Word) and not c.title_only)
            parts = tuple(c for c in children if not _plain_word(c))
            gate_sets = tuple(_gate(c) for c in parts)
            if all(len(g) == 1 for g in gate_sets):
                return _Or(children, simple, parts, tuple(min(g) for g in gate_sets), None)
            return _Or(children, simple, parts, None, None if frozenset() in gate_sets else gate_sets)
        raise TypeError(f"unknown node: {node!r}")  # pragma: no cover


def _span_group(builder: _Builder, text: str) -> tuple[SpanFn, frozenset[int]]:
    """A relevance word group compiled for its positions, with every atom it reads."""
    node = builder.node(parse_query(text, max_chars=10_000).root, True)
    return node.spans, frozenset(_atoms_in(node))


def _atoms_in(node: _Node) -> list[int]:
    if isinstance(node, _Word):
        return [node.atom]
    if isinstance(node, _Phrase):
        return [node.first, *node.rest]
    if isinstance(node, _Near):
        return _atoms_in(node.left) + _atoms_in(node.right)
    if isinstance(node, _Not):
        return _atoms_in(node.child)
    if isinstance(node, _Or | _And):
        return [a for c in node.children for a in _atoms_in(c)]
    return []


def _gate(node: _Node) -> frozenset[int]:
    """Atoms one of which must be present for ``node`` to have spans (empty: no such set)."""
    if isinstance(node, _Word):
        return frozenset([node.atom])
    if isinstance(node, _Phrase):
        return frozenset([node.first])
    if isinstance(node, _Near):
        return _gate(node.left) or _gate(node.right)
    if isinstance(node, _Or):
        gates = [_gate(c) for c in node.children]
        return frozenset() if frozenset() in gates else frozenset().union(*gates)
    return frozenset()


def _presence_atoms(node: _Node) -> frozenset[int] | None:
    """For ``a`` and ``a OR b`` (plain words): the atoms whose presence alone makes the query true."""
    if _plain_word(node):
        assert isinstance(node, _Word)
        return frozenset([node.atom])
    if isinstance(node, _Or) and all(_plain_word(c) for c in node.children):
        return node.simple
    return None


def _fast_test(node: _Node) -> BoolFn:
    """``node.test`` as flat closures: plain words of an AND / OR are checked together as sets."""
    if isinstance(node, _Word) and not node.title_only:
        a = node.atom
        return lambda v: a in v.pos
    if isinstance(node, _Not):
        inner = _fast_test(node.child)
        return lambda v: not inner(v)
    if isinstance(node, _And):
        req = frozenset(c.atom for c in node.children if isinstance(c, _Word) and _plain_word(c))
        neg = frozenset(
            c.child.atom
            for c in node.children
            if isinstance(c, _Not) and isinstance(c.child, _Word) and _plain_word(c.child)
        )
        rest = tuple(
            _fast_test(c)
            for c in node.children
            if not (_plain_word(c) or (isinstance(c, _Not) and _plain_word(c.child)))
        )
        if not rest:
            if not neg:
                return lambda v: v.pos.keys() >= req
            return lambda v: v.pos.keys() >= req and v.pos.keys().isdisjoint(neg)

        def and_test(v: View) -> bool:
            keys = v.pos.keys()
            return keys >= req and keys.isdisjoint(neg) and all(t(v) for t in rest)

        return and_test
    if isinstance(node, _Or):
        some = node.simple
        others = tuple(_fast_test(c) for c in node.parts)
        if not others:
            return lambda v: not v.pos.keys().isdisjoint(some)
        if len(others) == 1:
            other = others[0]
            return lambda v: not v.pos.keys().isdisjoint(some) or other(v)

        def or_test(v: View) -> bool:
            return not v.pos.keys().isdisjoint(some) or any(t(v) for t in others)

        return or_test
    return node.test


# ---------------------------------------------------------------------------------------------------
# Defaults and change sets (see the module docstring)
# ---------------------------------------------------------------------------------------------------


def _plan(node: Node, lang: str, atoms: _Atoms, cost: dict[int, int]) -> tuple[bool, frozenset[int]]:
    if isinstance(node, Terms):
        ids = [atoms.atom(w) for w in node.words]
        return False, frozenset([min(ids, key=lambda a: cost.get(a, 0))])
    if isinstance(node, Lang):
        return node.lang == lang, frozenset()
    if isinstance(node, Not):
        value, change = _plan(node.child, lang, atoms, cost)
        return not value, change
    if isinstance(node, Near):
        _, lc = _plan(node.left, lang, atoms, cost)
        _, rc = _plan(node.right, lang, atoms, cost)
        return False, min(lc, rc, key=lambda c: sum(cost.get(a, 0) for a in c))
    children = [_plan(c, lang, atoms, cost) for c in node.children]
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


def _positive_terms(node: Node, out: list[Terms]) -> None:
    if isinstance(node, Terms):
        if node not in out:
            out.append(node)
    elif isinstance(node, And | Or):
        for c in node.children:
            _positive_terms(c, out)
    elif isinstance(node, Near):
        _positive_terms(node.left, out)
        _positive_terms(node.right, out)


@dataclass(frozen=True, slots=True, eq=False)
class _QuerySource:
    """A query as its lazy hits see it (``EvidenceSource``): plain data, pickled once per dump."""

    kind: Literal["fact", "watch"]
    ref: str
    root: _Node

    def evidence_in(self, context: object) -> Evidence:
        if not isinstance(context, View):
            raise TypeError(f"expected the View of an article, got {type(context).__name__}")
        return context.evidence_for(self.root)


_Conjunction = tuple[int, tuple[int, ...], tuple[int, ...]]  # query, the atoms it needs, those it excludes


@dataclass(frozen=True, slots=True)
class _Section:
    """The facts (or the watches) as planned for one language (see the module docstring, step 3).

    A candidate is answered by the cheapest rule its shape allows: ``a`` and ``a OR b`` are true when a
    word of theirs is present (*sure*), ``NOT a`` and ``lang:ko NOT a`` false (*sure_off*); plain-word
    conjunctions (``a b NOT c``) are checked against the article's atoms; the rest run their compiled
    test (*tested*, ``always``).

    The rules are packed by atom into two arrays of C ints, read in place by ``_speedups.section_hits``
    (an article costs one entry per distinct atom, and no Python object per query): the entry of atom
    ``a`` is ``entries[entry_at[a]:entry_at[a + 1]]`` (empty: no rule), laid out as ``tested_end,
    sure_end, sure_off_end``, the three runs of query numbers those offsets end, then its conjunctions,
    each as ``query, n_required, n_excluded``, the required atoms, the excluded atoms.
    """

    entry_at: bytes  # C ints, one per atom and one more: where each atom's entry starts (and the last ends)
    entries: bytes  # C ints: the entries
    always: tuple[int, ...]  # true by default, with positive words: evaluated on every article
    base: tuple[Hit, ...]  # the constant hits of the queries true by default, by query number
    slot: list[int]  # by query number (of this section): ~its place in ``base`` (<0), or where its hit goes
    constants: dict[int, Hit]  # query number -> constant hit (queries without positive words)

    def hits(self, v: View, tests: list[BoolFn], sources: list[_QuerySource | None]) -> tuple[Hit, ...]:
        return section_hits(
            self.entry_at,
            self.entries,
            self.always,
            self.base,
            self.slot,
            self.constants,
            v.pos,
            v,
            tests,
            sources,
            Hit,
            _SOURCE_FIELD,
            _CONTEXT_FIELD,
        )


def _pack_rules(
    n_atoms: int,
    tested: dict[int, list[int]],
    sure: dict[int, list[int]],
    sure_off: dict[int, list[int]],
    conjunctions: dict[int, list[_Conjunction]],
) -> tuple[bytes, bytes]:
    """A section's rules by atom as ``_Section.entry_at`` and ``_Section.entries`` (see its docstring)."""
    lengths = [0] * n_atoms  # of each atom's entry
    entries: list[int] = []  # an array only at the end: growing one piece by piece takes twice as long
    for atom in sorted(tested.keys() | sure.keys() | sure_off.keys() | conjunctions.keys()):
        start = len(entries)
        to_test, to_true, to_false = tested.get(atom, ()), sure.get(atom, ()), sure_off.get(atom, ())
        tested_end = start + 3 + len(to_test)
        sure_end = tested_end + len(to_true)
        entries += (tested_end, sure_end, sure_end + len(to_false), *to_test, *to_true, *to_false)
        for query, required, excluded in conjunctions.get(atom, ()):
            entries += (query, len(required), len(excluded), *required, *excluded)
        lengths[atom] = len(entries) - start
    return array("i", accumulate(lengths, initial=0)).tobytes(), array("i", entries).tobytes()


_SOURCE_FIELD = Hit.__dict__["_source"]
_CONTEXT_FIELD = Hit.__dict__["_context"]


def _section_hits_py(
    entry_at: bytes,
    entries: bytes,
    always: tuple[int, ...],
    base: tuple[Hit, ...],
    slot: list[int],
    constants: dict[int, Hit],
    pos: dict[int, list[int]],
    view: View,
    tests: list[BoolFn],
    sources: list[_QuerySource | None],
    hit_type: type[Hit],
    source_field: Any,
    context_field: Any,
) -> tuple[Hit, ...]:
    """``_Section.hits``: ``base`` with the queries whose value on this article differs from their default
    cut out or spliced in. The reference for ``_speedups.section_hits``, which runs instead when it was
    compiled."""
    at, data = memoryview(entry_at).cast("i"), memoryview(entries).cast("i")
    keys = pos.keys()
    candidates = set(always)
    true: set[int] = set()
    off: set[int] = set()  # the queries a present atom makes false
    for atom in pos:
        if not 0 <= atom < len(at) - 1 or (start := at[atom]) == (end := at[atom + 1]):
            continue  # outside the index, or no rule for it
        tested_end, sure_end, sure_off_end = data[start : start + 3]
        candidates.update(data[start + 3 : tested_end])
        true.update(data[tested_end:sure_end])
        off.update(data[sure_end:sure_off_end])
        i = sure_off_end
        while i < end:  # the conjunctions
            query, n_required, n_excluded = data[i : i + 3]
            i += 3
            required, excluded = data[i : i + n_required], data[i + n_required : i + n_required + n_excluded]
            if all(map(keys.__contains__, required)) and keys.isdisjoint(excluded):
                true.add(query)
            i += n_required + n_excluded
    true.update(q for q in candidates if tests[q](view))
    changes = true.symmetric_difference([q for q in candidates if slot[q] < 0])  # < 0: true by default
    changes.update(off)
    if not changes:
        return base
    return splice(
        base, sorted(changes), slot, sources, constants, view, hit_type, source_field, context_field
    )


def _splice_py(
    base: tuple[Hit, ...],
    changes: list[int],
    slot: list[int],
    sources: list[_QuerySource | None],
    constants: dict[int, Hit],
    context: object,
    hit_type: type[Hit],
    source_field: Any,
    context_field: Any,
) -> tuple[Hit, ...]:
    """``base`` hits up to each change, then the change: a cut (``slot[q] < 0``), or a new hit at
    ``slot[q]`` — ``Hit.lazy(sources[q], context)``, or the constant hit of a query without positive words.
    The reference for ``_speedups.splice``, which runs instead when it was compiled."""
    new_hit, set_source, set_context = object.__new__, source_field.__set__, context_field.__set__
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
            source = sources[q]
            if source is None:
                out.append(constants[q])
            else:  # Hit.lazy(source, context), inlined: this runs for every positive hit
                hit = new_hit(hit_type)
                set_source(hit, source)
                set_context(hit, context)
                out.append(hit)
    out += base[done:]
    return tuple(out)


splice = _splice_py
section_hits = _section_hits_py


def _point_spans_py(pos: dict[int, list[int]], atoms: Iterable[int], max_spans: int) -> list[Span]:
    """``(p, p)`` for the first ``max_spans`` positions ``p`` of each atom, in the order of ``atoms``. The
    reference for ``_speedups.point_spans``."""
    out: list[Span] = []
    for a in atoms:
        ps = pos[a][:max_spans]
        out += zip(ps, ps, strict=True)
    return out


point_spans = _point_spans_py


def _phrase_spans_py(
    pos: dict[int, list[int]],
    first: int,
    rest: tuple[int, ...],
    soft: tuple[bool, ...],
    limit: int,
    max_spans: int,
) -> list[Span]:
    """``(p, p + len(rest))`` for each of the first ``max_spans`` positions ``p`` of ``first`` that the words
    of ``rest`` follow, joined by soft separators, ending before word ``limit``. The reference for
    ``_speedups.phrase_spans``."""
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


phrase_spans = _phrase_spans_py


def _lookup_positions_py(
    raw: tuple[str, ...],
    cache: dict[str, tuple[int, ...]],
    resolve: Callable[[list[str]], list[tuple[int, ...]]],
) -> dict[int, list[int]]:
    """``positions`` of the atoms of each word in ``raw``: from ``cache``, and for the words not seen
    before, from one call of ``resolve`` with each of them once. The reference for
    ``_speedups.lookup_positions``."""
    resolved: list[tuple[int, ...] | None] = list(map(cache.get, raw))
    if None in resolved:
        new = list(compress(count(), map(is_, resolved, repeat(None))))
        forms = list(dict.fromkeys(map(raw.__getitem__, new)))
        got = dict(zip(forms, resolve(forms), strict=True))
        for i in new:
            resolved[i] = got[raw[i]]
    return positions(resolved)


lookup_positions = _lookup_positions_py


def _conjunction(node: _Node, lang: str) -> tuple[frozenset[int], frozenset[int]] | None:
    """For ``a b NOT c`` (plain words; ``lang:`` parts true in ``lang``): the atoms it needs and excludes."""
    if not isinstance(node, _And):
        return None
    required: list[int] = []
    excluded: list[int] = []
    for c in node.children:
        if isinstance(c, _Word) and not c.title_only:
            required.append(c.atom)
        elif isinstance(c, _Not) and isinstance(c.child, _Word) and not c.child.title_only:
            excluded.append(c.child.atom)
        elif not (isinstance(c, _Lang) and c.lang == lang):
            return None
    return (frozenset(required), frozenset(excluded)) if required else None


def _negated_presence(node: _Node, lang: str) -> frozenset[int] | None:
    """For ``NOT a``, ``NOT (a OR b)``, ``lang:ko NOT a`` (true in ``lang``): the atoms whose presence
    alone makes it false."""
    if isinstance(node, _Not):
        return _presence_atoms(node.child)
    if isinstance(node, _And):
        rest = [c for c in node.children if not (isinstance(c, _Lang) and c.lang == lang)]
        if len(rest) == 1 and isinstance(rest[0], _Not):
            return _presence_atoms(rest[0].child)
    return None


class CompiledMatcher:
    """Matches articles against the fact catalog and every watch (see the module docstring)."""

    def __init__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> None:
        self._inputs = (facts, watches)
        self._atoms = _Atoms()
        builder = _Builder(self._atoms)
        parsed: list[tuple[Literal["fact", "watch"], str, Query]] = []
        for fact in facts:
            parsed.append(("fact", fact.id, _parse(fact.query, f"Fact {fact.id!r}")))
        for watch in watches:
            parsed.append(("watch", watch.id, _parse(watch.query, f"Watch {watch.id!r}")))
        self._roots: list[Node] = []
        self._tests: list[BoolFn] = []
        self._constants: list[Hit | None] = []  # for queries without positive words: no text to quote
        self._nodes: list[_Node] = []
        self._sources: list[_QuerySource | None] = []  # for the lazy evidence of queries with positive words
        for kind, ref, query in parsed:
            positives: list[Terms] = []
            _positive_terms(query.root, positives)
            root = builder.node(query.root)
            self._roots.append(query.root)
            self._tests.append(_fast_test(root))
            self._constants.append(None if positives else Hit(kind, ref, NO_TEXT_EVIDENCE))
            self._nodes.append(root)
            self._sources.append(_QuerySource(kind, ref, root) if positives else None)
        self._n_facts = len(facts)
        self._relevance = relevance.RelevanceModel(lambda text: _span_group(builder, text))
        self._atoms.finish()
        cost: dict[int, int] = defaultdict(int)
        for _, _, query in parsed:
            terms: list[Terms] = []
            _positive_terms(query.root, terms)
            for t in terms:
                for w in t.words:
                    cost[self._atoms.atom(w)] += 1 + (8 if w.wildcard and len(w.text) <= 3 else 0)
        self._cost = dict(cost)
        self._plans: dict[str, tuple[_Section, _Section]] = {}
        for lang in COMMON_LANGS:
            self._plan_for(lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CompiledMatcher, self._inputs)

    def _plan_for(self, lang: str) -> tuple[_Section, _Section]:
        plan = self._plans.get(lang)
        if plan is not None:
            return plan
        n_facts = self._n_facts
        plan = (
            self._section(lang, range(n_facts)),
            self._section(lang, range(n_facts, len(self._roots))),
        )
        if len(self._plans) < MAX_PLANNED_LANGS:
            self._plans[lang] = plan
        return plan

    def _section(self, lang: str, qids: range) -> _Section:
        always: list[int] = []
        base_qids: list[int] = []
        # The rules of ``_Section`` (its docstring), each by atom; packed into one entry per atom below.
        tested: dict[int, list[int]] = defaultdict(list)
        sure: dict[int, list[int]] = defaultdict(list)
        sure_off: dict[int, list[int]] = defaultdict(list)
        conjunctions: dict[int, list[_Conjunction]] = defaultdict(list)
        for qid in qids:
            node = self._nodes[qid]
            value, change = _plan(self._roots[qid], lang, self._atoms, self._cost)
            if value and self._constants[qid] is None:
                always.append(qid)
                continue
            rule = tested
            if value:
                base_qids.append(qid)
                if change == _negated_presence(node, lang):
                    rule = sure_off
            elif change == _presence_atoms(node):
                rule = sure
            elif isinstance(node, _Or) and node.simple & change:
                # ``a OR "b c"``: true when ``a`` is present; the phrase's word needs the test.
                for atom in node.simple & change:
                    sure[atom].append(qid)
                change = change - node.simple
            elif (shape := _conjunction(node, lang)) is not None:
                required, excluded = shape
                conjunction = (qid, tuple(required), tuple(excluded))
                for atom in change:
                    conjunctions[atom].append(conjunction)
                continue
            for atom in change:
                rule[atom].append(qid)
        constants = {q: hit for q in qids if (hit := self._constants[q]) is not None}
        base_at = {q: i for i, q in enumerate(base_qids)}
        entry_at, entries = _pack_rules(len(self._atoms.ids), tested, sure, sure_off, conjunctions)
        return _Section(
            entry_at=entry_at,
            entries=entries,
            always=tuple(always),
            base=tuple(constants[q] for q in base_qids),
            slot=[
                ~base_at[q] if q in base_at else bisect_left(base_qids, q) if q in qids else 0
                for q in range(qids.stop)
            ],
            constants=constants,
        )

    # -----------------------------------------------------------------------------------------------

    def view(self, article: Article) -> View:
        text = article.text
        tokens = tokenize(text)
        atoms = self._atoms
        pos = lookup_positions(tokens.raw, atoms.cache, atoms.resolve_many)
        title_len = len(article.title)
        n_title = tokens.words_before(title_len)
        lang = (article.lang or "und").split("-")[0].lower()
        return View(text, title_len, lang, n_title, pos, tokens)

    def match(self, article: Article) -> MatchResult:
        v = self.view(article)
        relevant, relevance_evidence = self._relevance.judge(v)
        fact_plan, watch_plan = self._plan_for(v.lang)
        tests, sources = self._tests, self._sources
        return MatchResult(
            relevant,
            fact_plan.hits(v, tests, sources) if relevant else (),
            watch_plan.hits(v, tests, sources),
            relevance_evidence,
        )


def _parse(text: str, what: str) -> Query:
    try:
        return parse_query(text, max_chars=FACT_QUERY_MAX_CHARS if what.startswith("Fact") else 500)
    except QueryError as err:
        raise QueryError(f"{what}: {err}", err.position) from None


def compile_matcher(facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> CompiledMatcher:
    """Compile the catalog and every watch into one matcher (a ``MatcherFactory``).

    Raises ``QueryError`` (prefixed with the fact or watch id) when a query does not parse: callers
    validate watches on ``watch add``, so a bad one here is a bug worth surfacing, not skipping.
    """
    return CompiledMatcher(tuple(facts), tuple(watches))


_RELEVANCE_ONLY: list[CompiledMatcher] = []


def is_relevant(article: Article) -> tuple[bool, Evidence | None]:
    """Whether ``article`` is North Korea–Russia coverage, with the evidence for it."""
    if not _RELEVANCE_ONLY:
        _RELEVANCE_ONLY.append(CompiledMatcher((), ()))
    matcher = _RELEVANCE_ONLY[0]
    return matcher._relevance.judge(matcher.view(article))
