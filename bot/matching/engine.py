"""The compiled matcher: the catalog, every watch and the relevance rules in one structure.

How one article is matched:

1. Its words are split once (``text.tokenize``). Each distinct word form is resolved to the *atoms* it
   satisfies — a query word's key (stem, Korean base form) or a prefix (``sanction*``, and the stems of
   Russian words, which Snowball does not keep identical across all endings). Exact keys are a hash
   lookup; prefixes are found in one pass of a pyahocorasick automaton. Resolutions are cached per
   word form, so a word seen before costs one dict lookup.
2. Only queries that could change their answer are evaluated. For each query and article language the
   compiler works out the query's value on an article with none of its words (its *default*: ``NOT x``
   and ``lang:ko`` are true there) and a small *change set* of atoms without which the value cannot
   differ from that default (for ``a AND b`` the rarer of the two; for ``a OR b`` both). A query is
   evaluated only when an atom of its change set is present; every other query takes its default. So
   negative-only and language-only queries are answered without evaluation, and a common word shared by
   thousands of watches does not make all of them candidates.
3. Each matching query gets evidence: the fired words of its positive terms, marked in a snippet.

The matcher is picklable: it pickles as its inputs and is rebuilt on load (compiling is fast).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import ahocorasick

from bot.matching import relevance
from bot.matching.catalog import FACT_QUERY_MAX_CHARS
from bot.matching.evidence import NO_TEXT_EVIDENCE, build_evidence, trusted_hit
from bot.matching.query import And, Lang, Near, Node, Not, Or, Query, QueryError, Terms, Word, parse_query
from bot.matching.text import Tokens, normalize, ru_ending_ok, script_of, token_keys, tokenize, word_key
from bot.models import Article, Evidence, Fact, Hit, MatchResult, WatchSpec

log = logging.getLogger(__name__)

WORD_CACHE_MAX = 200_000  # resolved word forms kept per matcher before the cache starts over
MAX_SPANS = 256  # word positions considered per side of a NEAR / phrase start, to bound the work
MAX_EVIDENCE = 12  # fired words collected per query for its evidence
COMMON_LANGS = ("en", "ko", "ru", "und")

Span = tuple[int, int]


class View:
    """One article as the compiled queries read it."""

    __slots__ = ("lang", "n_title", "pos", "sets", "text", "title_len", "tokens")

    def __init__(self, tokens: Tokens, pos: dict[int, list[int]], n_title: int, lang: str, text: str,
                 title_len: int) -> None:
        self.tokens = tokens
        self.pos = pos
        self.n_title = n_title
        self.lang = lang
        self.text = text
        self.title_len = title_len
        self.sets: dict[int, frozenset[int]] = {}

    def posset(self, atom: int) -> frozenset[int]:
        s = self.sets.get(atom)
        if s is None:
            s = self.sets[atom] = frozenset(self.pos.get(atom, ()))
        return s


BoolFn = Callable[[View], bool]
SpanFn = Callable[[View], list[Span]]
WitnessFn = Callable[[View], list[tuple[Span, str]]]  # the words that made a query true, and their terms


# ---------------------------------------------------------------------------------------------------
# Atoms: what a single word of a query asks of a word of the article
# ---------------------------------------------------------------------------------------------------


class _Atoms:
    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.prefix: dict[str, list[tuple[int, bool]]] = defaultdict(list)  # (atom, is_russian_stem)
        self.automaton: Any = None
        self.cache: dict[str, tuple[int, ...]] = {}

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

    def resolve(self, raw: str) -> tuple[int, ...]:
        found = self.cache.get(raw)
        if found is not None:
            return found
        word = normalize(raw)
        atoms: set[int] = set()
        for key in token_keys(word):
            atoms.update(self.exact.get(key, ()))
        if self.automaton is not None:
            for _end, (prefix, items) in self.automaton.iter("\x02" + word):
                ending = word[len(prefix):]
                for atom, russian in items:
                    if not russian or ru_ending_ok(prefix, ending):
                        atoms.add(atom)
        result = tuple(sorted(atoms))
        if len(self.cache) >= WORD_CACHE_MAX:
            self.cache.clear()
        self.cache[raw] = result
        return result


# ---------------------------------------------------------------------------------------------------
# Compiling a syntax tree into closures
# ---------------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, atoms: _Atoms) -> None:
        self.atoms = atoms

    def spans(self, node: Node) -> SpanFn:
        if isinstance(node, Terms):
            return self._terms_spans(node)
        if isinstance(node, Or):
            # Plain words are looked up together; only phrases and NEAR need their own closures.
            simple = frozenset(
                self.atoms.atom(c.words[0])
                for c in node.children
                if isinstance(c, Terms) and len(c.words) == 1 and not c.title_only
            )
            parts = [
                self.spans(c)
                for c in node.children
                if not (isinstance(c, Terms) and len(c.words) == 1 and not c.title_only)
            ]

            def or_spans(v: View) -> list[Span]:
                out: list[Span] = []
                pos = v.pos
                present = simple.intersection(pos) if len(pos) < len(simple) else pos.keys() & simple
                for a in present:
                    out.extend((p, p) for p in pos[a][:MAX_SPANS])
                for part in parts:
                    out.extend(part(v))
                return out

            return or_spans
        if isinstance(node, Near):
            return _near_spans(self.spans(node.left), self.spans(node.right), node.distance)
        raise TypeError(f"not a positional node: {node!r}")  # the parser never builds this

    def _terms_spans(self, node: Terms) -> SpanFn:
        ids = [self.atoms.atom(w) for w in node.words]
        title_only = node.title_only
        if len(ids) == 1:
            a = ids[0]

            def word_spans(v: View) -> list[Span]:
                ps = v.pos.get(a)
                if not ps:
                    return []
                if title_only:
                    return [(p, p) for p in ps[: bisect_left(ps, v.n_title)]]
                return [(p, p) for p in ps[:MAX_SPANS]]

            return word_spans
        first, rest = ids[0], ids[1:]
        width = len(ids) - 1

        def phrase_spans(v: View) -> list[Span]:
            starts = v.pos.get(first)
            if not starts:
                return []
            sets = []
            for a in rest:
                if a not in v.pos:
                    return []
                sets.append(v.posset(a))
            soft = v.tokens.soft
            limit = v.n_title if title_only else len(soft)
            out: list[Span] = []
            for p in starts[:MAX_SPANS]:
                if p + width >= limit:
                    break
                if all(p + i in s and soft[p + i] for i, s in enumerate(sets, 1)):
                    out.append((p, p + width))
            return out

        return phrase_spans

    def witness(self, node: Node) -> WitnessFn:
        """Where a true ``node`` matched: positive words only (NOT and lang: contribute none)."""
        if isinstance(node, Terms):
            spans, display = self.spans(node), node.display
            return lambda v: [(s, display) for s in spans(v)[:MAX_EVIDENCE]]
        if isinstance(node, Near):
            left, right, distance = self.witness(node.left), self.witness(node.right), node.distance

            def near(v: View) -> list[tuple[Span, str]]:
                out: list[tuple[Span, str]] = []
                rs = right(v)
                for ls, lt in left(v):
                    for rs_, rt in rs:
                        if max(rs_[0] - ls[1], ls[0] - rs_[1]) - 1 <= distance:
                            out += [(ls, lt), (rs_, rt)]
                            if len(out) >= MAX_EVIDENCE:
                                return out
                return out

            return near
        if isinstance(node, And | Or):
            parts = [(self.boolean(c), self.witness(c)) for c in node.children]
            need_all = isinstance(node, And)

            def group(v: View) -> list[tuple[Span, str]]:
                out: list[tuple[Span, str]] = []
                for test, wit in parts:
                    if test(v):
                        out.extend(wit(v))
                    elif need_all:
                        return []
                return out

            return group
        return lambda v: []

    def boolean(self, node: Node) -> BoolFn:
        if isinstance(node, Terms) and len(node.words) == 1:
            a = self.atoms.atom(node.words[0])
            if node.title_only:
                return lambda v: (ps := v.pos.get(a)) is not None and ps[0] < v.n_title
            return lambda v: a in v.pos
        if isinstance(node, Terms | Near):
            spans = self.spans(node)
            return lambda v: bool(spans(v))
        if isinstance(node, Lang):
            lang = node.lang
            return lambda v: v.lang == lang
        if isinstance(node, Not):
            child = self.boolean(node.child)
            return lambda v: not child(v)
        if isinstance(node, And):
            parts = tuple(self.boolean(c) for c in node.children)
            return lambda v: all(p(v) for p in parts)
        if isinstance(node, Or):
            parts = tuple(self.boolean(c) for c in node.children)
            return lambda v: any(p(v) for p in parts)
        raise TypeError(f"unknown node: {node!r}")  # pragma: no cover


def _near_spans(left: SpanFn, right: SpanFn, distance: int) -> SpanFn:
    def near(v: View) -> list[Span]:
        ls = left(v)
        if not ls:
            return []
        rs = right(v)
        out: list[Span] = []
        for l0, l1 in ls[:MAX_SPANS]:
            for r0, r1 in rs[:MAX_SPANS]:
                if max(r0 - l1, l0 - r1) - 1 <= distance:
                    out.append((min(l0, r0), max(l1, r1)))
        return out

    return near


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


@dataclass(slots=True)
class _LangPlan:
    default_true: tuple[int, ...]
    index: dict[int, tuple[int, ...]]  # atom -> queries to evaluate when it is present


@dataclass(slots=True)
class _Compiled:
    ref: str
    kind: Literal["fact", "watch"]
    query: Query
    test: BoolFn
    witness: WitnessFn
    constant_hit: Hit | None  # for queries without positive words (NOT x, lang:ko): no text to quote


class CompiledMatcher:
    """Matches articles against the fact catalog and every watch (see the module docstring)."""

    def __init__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> None:
        self._inputs = (facts, watches)
        self._atoms = _Atoms()
        compiler = _Compiler(self._atoms)
        self._queries: list[_Compiled] = []
        parsed: list[tuple[Literal["fact", "watch"], str, Query]] = []
        for fact in facts:
            parsed.append(("fact", fact.id, _parse(fact.query, f"Fact {fact.id!r}")))
        for watch in watches:
            parsed.append(("watch", watch.id, _parse(watch.query, f"Watch {watch.id!r}")))
        for kind, ref, query in parsed:
            positives: list[Terms] = []
            _positive_terms(query.root, positives)
            constant = None if positives else trusted_hit(kind, ref, NO_TEXT_EVIDENCE)
            self._queries.append(
                _Compiled(
                    ref, kind, query, compiler.boolean(query.root), compiler.witness(query.root), constant
                )
            )
        self._n_facts = len(facts)
        self._relevance = relevance.RelevanceModel(
            lambda text: compiler.spans(parse_query(text, max_chars=10_000).root)
        )
        self._atoms.finish()
        cost: dict[int, int] = defaultdict(int)
        for _, _, query in parsed:
            terms: list[Terms] = []
            _positive_terms(query.root, terms)
            for t in terms:
                for w in t.words:
                    cost[self._atoms.atom(w)] += 1 + (8 if w.wildcard and len(w.text) <= 3 else 0)
        self._cost = dict(cost)
        self._plans: dict[str, _LangPlan] = {}
        for lang in COMMON_LANGS:
            self._plan_for(lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CompiledMatcher, self._inputs)

    def _plan_for(self, lang: str) -> _LangPlan:
        plan = self._plans.get(lang)
        if plan is not None:
            return plan
        default_true: list[int] = []
        index: dict[int, list[int]] = defaultdict(list)
        for qid, compiled in enumerate(self._queries):
            value, change = _plan(compiled.query.root, lang, self._atoms, self._cost)
            if value:
                default_true.append(qid)
            for atom in change:
                index[atom].append(qid)
        plan = _LangPlan(tuple(default_true), {a: tuple(q) for a, q in index.items()})
        if len(self._plans) < 64:  # languages beyond the common ones are planned on demand
            self._plans[lang] = plan
        return plan

    # -----------------------------------------------------------------------------------------------

    def view(self, article: Article) -> View:
        text = article.text
        tokens = tokenize(text)
        pos: dict[int, list[int]] = {}
        resolve = self._atoms.resolve
        for i, raw in enumerate(tokens.raw):
            for atom in resolve(raw):
                found = pos.get(atom)
                if found is None:
                    pos[atom] = [i]
                else:
                    found.append(i)
        title_len = len(article.title)
        n_title = bisect_left(tokens.spans, (title_len, title_len))
        lang = (article.lang or "und").split("-")[0].lower()
        return View(tokens, pos, n_title, lang, text, title_len)

    def match(self, article: Article) -> MatchResult:
        v = self.view(article)
        relevant, relevance_evidence = self._relevance.judge(v)
        plan = self._plan_for(v.lang)
        candidates: set[int] = set()
        index = plan.index
        for atom in v.pos:
            qs = index.get(atom)
            if qs:
                candidates.update(qs)
        matched = [q for q in plan.default_true if q not in candidates]
        matched.extend(q for q in candidates if self._queries[q].test(v))
        matched.sort()
        fact_hits: list[Hit] = []
        watch_hits: list[Hit] = []
        cache: dict[tuple[tuple[Span, str], ...], Evidence] = {}
        for qid in matched:
            if qid < self._n_facts and not relevant:
                continue
            compiled = self._queries[qid]
            hit = compiled.constant_hit or trusted_hit(
                "fact" if qid < self._n_facts else "watch", compiled.ref, self._evidence(v, compiled, cache)
            )
            (fact_hits if qid < self._n_facts else watch_hits).append(hit)
        return MatchResult(
            relevant=relevant,
            facts=tuple(fact_hits),
            watches=tuple(watch_hits),
            relevance=relevance_evidence,
        )

    def _evidence(self, v: View, compiled: _Compiled,
                  cache: dict[tuple[tuple[Span, str], ...], Evidence]) -> Evidence:
        fired = tuple(dict.fromkeys(compiled.witness(v)))
        found = cache.get(fired)
        if found is not None:
            return found
        token_spans = v.tokens.spans
        char_spans = [(token_spans[s][0], token_spans[e][1]) for (s, e), _ in fired]
        terms = tuple(dict.fromkeys(term for _, term in fired))
        evidence = cache[fired] = build_evidence(v.text, v.title_len, char_spans, terms)
        return evidence


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
