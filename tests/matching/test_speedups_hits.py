"""The compiled ``_Section.hits`` (``_speedups.section_hits``) against its pure-Python reference,
``engine._section_hits_py``: the same hits in the same order, the same ``base`` object when nothing
changes, on the benchmark workload, the evaluation sets, generated watch sets and articles, and generated
raw sections; and bad input that raises instead of crashing, without leaks."""

from __future__ import annotations

import importlib
import json
import os
import random
from array import array
from bisect import bisect_left
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_match import make_articles, make_watches
from bot.matching import compile_matcher, engine, parse_query
from bot.matching.engine import CompiledMatcher, View
from bot.matching.query import QueryError
from bot.matching.text import tokenize
from bot.models import Evidence, Fact, Hit, WatchSpec
from tests.matching.conftest import REPO, assert_does_not_leak, make_article


def _load() -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module("bot.matching._speedups"), ""
    except ImportError as err:
        return None, f"{type(err).__name__}: {err}"


speedups, IMPORT_ERROR = _load()
# Where CI requires the extension (PACTWATCH_REQUIRE_SPEEDUPS=1), a missing one fails these tests.
REQUIRED = os.environ.get("PACTWATCH_REQUIRE_SPEEDUPS") == "1"
needs_speedups = pytest.mark.skipif(
    speedups is None and not REQUIRED,
    reason=f"bot.matching._speedups is not compiled (no C compiler at install time?): {IMPORT_ERROR}",
)
DATA = REPO / "tests" / "matching" / "data"
FIELDS = (Hit, engine._SOURCE_FIELD, engine._CONTEXT_FIELD)


def _c() -> Any:
    assert speedups is not None, f"bot.matching._speedups does not import: {IMPORT_ERROR}"
    return speedups


def assert_same_hits(
    got: tuple[Hit, ...], want: tuple[Hit, ...], base: tuple[Hit, ...], view: object
) -> None:
    assert type(got) is tuple
    assert (got is base) == (want is base)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if w._context is None:  # a constant hit: shared, not copied
            assert g is w
        else:
            assert type(g) is Hit and g._source is w._source and g._context is view


def check_article(matcher: CompiledMatcher, view: View) -> tuple[int, int]:
    """Both implementations on both sections of one article; returns (hits, sections left as ``base``)."""
    hits = unchanged = 0
    for section in matcher._plan_for(view.lang):
        args = (
            section.entry_at,
            section.entries,
            section.always,
            section.base,
            section.slot,
            section.constants,
            view.pos,
            view,
            matcher._tests,
            matcher._sources,
            *FIELDS,
        )
        got = _c().section_hits(*args)
        assert_same_hits(got, engine._section_hits_py(*args), section.base, view)
        assert_same_hits(section.hits(view, matcher._tests, matcher._sources), got, section.base, view)
        hits += len(got)
        unchanged += got is section.base
    return hits, unchanged


@needs_speedups
def test_sections_use_the_compiled_function() -> None:
    assert engine.section_hits is _c().section_hits


@needs_speedups
def test_benchmark_workload(catalog: tuple[Fact, ...]) -> None:
    articles = make_articles(300, random.Random(7))
    matcher = compile_matcher(catalog, tuple(make_watches(10_000, random.Random(10_007))))
    hits = sum(check_article(matcher, matcher.view(a))[0] for a in articles)
    assert hits > 300 * 500  # ~814 watch hits an article: the splice path, not ``base``, is exercised


def _evaluation_articles() -> list[tuple[str, str, str]]:
    items = [
        json.loads(line)
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [(str(i["title"]), str(i["text"]), str(i["lang"])) for i in items]


def _watches_from(texts: list[str], n: int, rng: random.Random) -> list[WatchSpec]:
    """``n`` watches of every shape the planner tells apart, over words drawn (as often as they occur) from
    ``texts``."""
    words = [w.lower() for t in texts for w in tokenize(t).raw if w.isalpha() and len(w) > 2]

    def term() -> str:
        word = rng.choice(words)
        roll = rng.random()
        if roll < 0.12:
            return word[:3] + "*"
        if roll < 0.24:
            return f'"{word} {rng.choice(words)}"'
        if roll < 0.30:
            return f"title:{word}"
        return word

    shapes: list[Callable[[], str]] = [
        lambda: f"NOT {term()}",
        lambda: f"lang:{rng.choice(['en', 'ko', 'ru'])}",
        lambda: f"lang:ko NOT {term()}",
        lambda: f"NOT ({term()} OR {term()})",
        lambda: f'"{rng.choice(words)} {rng.choice(words)}" OR {rng.choice(words)}',
        lambda: f"{term()} OR {term()}",
        lambda: f"{rng.choice(words)} {rng.choice(words)} NOT {rng.choice(words)}",
        lambda: f"lang:ru {rng.choice(words)} {rng.choice(words)}",
        lambda: f"{term()} {term()} NOT {term()}",
        lambda: f"{term()} NEAR/{rng.randint(1, 6)} {term()}",
        lambda: f"{term()} OR NOT {term()}",
        lambda: f"NOT NOT {term()}",
        lambda: " ".join(term() for _ in range(rng.randint(1, 3))),
    ]
    out: list[WatchSpec] = []
    while len(out) < n:
        query = rng.choice(shapes)()
        try:
            parse_query(query)
        except QueryError:
            continue  # a drawn word the parser reads as an operator or splits oddly
        out.append(WatchSpec(f"w{len(out)}", query))
    return out


@needs_speedups
def test_evaluation_sets(catalog: tuple[Fact, ...]) -> None:
    items = _evaluation_articles()
    assert len(items) > 400
    watches = _watches_from([f"{title}\n\n{text}" for title, text, _ in items], 3_000, random.Random(5))
    matcher = compile_matcher(catalog, tuple(watches))
    totals = [check_article(matcher, matcher.view(make_article(*item))) for item in items]
    assert sum(h for h, _ in totals) > 10 * len(items)
    assert any(unchanged for _, unchanged in totals)  # both paths: ``base`` itself, and a splice


# Generated watch sets and articles over a small vocabulary, so that most watches meet most articles.

VOCABULARY = [
    "russia",
    "korea",
    "kursk",
    "troops",
    "treaty",
    "러시아",
    "북한",
    "조약",
    "россия",
    "кндр",
    "договор",
]
FILLER = ["the", "said", "및", "и"]
word = st.sampled_from(VOCABULARY)
term = st.one_of(
    word,
    word.map(lambda w: w[:3] + "*"),
    st.tuples(word, word).map(lambda p: f'"{p[0]} {p[1]}"'),
    word.map(lambda w: f"title:{w}"),
)
code = st.sampled_from(["en", "ko", "ru"])
queries = st.one_of(
    term,
    term.map(lambda t: f"NOT {t}"),  # NOT-only
    code.map(lambda c: f"lang:{c}"),  # lang-only
    term.map(lambda t: f"lang:ko NOT {t}"),
    st.tuples(word, word, word).map(lambda p: f'"{p[0]} {p[1]}" OR {p[2]}'),  # phrase OR word
    st.tuples(word, word, word).map(lambda p: f"{p[0]} {p[1]} NOT {p[2]}"),  # plain conjunction with NOT
    st.tuples(code, word, word).map(lambda p: f"lang:{p[0]} {p[1]} NOT {p[2]}"),
    st.tuples(term, term, term).map(lambda p: f"{p[0]} {p[1]} NOT {p[2]}"),
    st.tuples(term, term).map(lambda p: f"{p[0]} OR {p[1]}"),
    st.tuples(term, term).map(lambda p: f"{p[0]} NEAR/2 {p[1]}"),
    st.tuples(term, term).map(lambda p: f"NOT ({p[0]} OR {p[1]})"),
    st.tuples(term, term).map(lambda p: f"{p[0]} OR NOT {p[1]}"),
    term.map(lambda t: f"NOT NOT {t}"),
)
words_of_article = st.lists(st.sampled_from(VOCABULARY + FILLER), max_size=14).map(" ".join)
articles = st.builds(
    make_article,
    words_of_article,
    words_of_article,
    st.sampled_from(["en", "ko", "ru", "und", "ja"]),  # "ja": a language planned on demand
)


@needs_speedups
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=30), st.lists(articles, min_size=1, max_size=4))
def test_generated_watches_and_articles(watch_queries: list[str], drawn: list[Any]) -> None:
    watches = tuple(WatchSpec(f"w{i}", q) for i, q in enumerate(watch_queries))
    matcher = compile_matcher((), watches)
    for article in drawn:
        view = matcher.view(article)
        check_article(matcher, view)
        # And both are right: the watches whose query is true, in order.
        result = matcher._plan_for(view.lang)[1].hits(view, matcher._tests, matcher._sources)
        true = [w.id for w, node in zip(watches, matcher._nodes, strict=True) if node.test(view)]
        assert [h.ref for h in result] == true


# Generated raw sections: any well-formed input, including combinations the planner never builds (a
# query both sure and tested, a cut query that is not true by default, a constant hit spliced in, atoms
# outside the index).


def _below(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1) if n else st.nothing()


@st.composite
def raw_sections(draw: st.DrawFn) -> tuple[Any, ...]:
    n, n_atoms = draw(st.integers(1, 90)), draw(st.integers(1, 14))
    queries_, atoms = _below(n), _below(n_atoms)
    default_true = sorted(draw(st.sets(queries_)))
    positive = draw(st.sets(queries_)) - set(default_true)
    no_text = Evidence(terms=(), snippet="")
    constants = {q: Hit("watch", f"c{q}", no_text) for q in range(n) if q not in positive}
    base_at = {q: i for i, q in enumerate(default_true)}
    slot = [~base_at[q] if q in base_at else bisect_left(default_true, q) for q in range(n)]
    sources: list[Any] = [f"source-{q}" if q in positive else None for q in range(n)]
    runs = st.dictionaries(atoms, st.lists(queries_, max_size=6), max_size=8)
    atom_tuples = st.lists(atoms, max_size=3).map(tuple)
    conjunction_lists = st.lists(st.tuples(queries_, atom_tuples, atom_tuples), max_size=3)
    conjunctions = draw(st.dictionaries(atoms, conjunction_lists, max_size=5))
    entry_at, entries = engine._pack_rules(n_atoms, draw(runs), draw(runs), draw(runs), conjunctions)
    always = tuple(draw(st.lists(queries_, max_size=4)))
    pos = {a: [0] for a in draw(st.lists(st.integers(-2, n_atoms + 2), max_size=12))}
    answers = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    tests = [lambda v, answer=answer: answer for answer in answers]
    base = tuple(constants[q] for q in default_true)
    return entry_at, entries, always, base, slot, constants, pos, tests, sources


@needs_speedups
@settings(max_examples=400, deadline=None)
@given(raw_sections())
def test_generated_raw_sections(section: tuple[Any, ...]) -> None:
    entry_at, entries, always, base, slot, constants, pos, tests, sources = section
    view = object()
    args = (entry_at, entries, always, base, slot, constants, pos, view, tests, sources, *FIELDS)
    assert_same_hits(_c().section_hits(*args), engine._section_hits_py(*args), base, view)


# Bad input raises (never crashes); a test's exception propagates.

TINY_ATOMS = 6


def _rules(**by_kind: dict[int, list[Any]]) -> dict[str, bytes]:
    """``entry_at`` and ``entries`` of the rules given by kind (tested, sure, sure_off, conjunctions)."""
    parts = [by_kind.get(kind, {}) for kind in ("tested", "sure", "sure_off", "conjunctions")]
    entry_at, entries = engine._pack_rules(TINY_ATOMS, *parts)
    return {"entry_at": entry_at, "entries": entries}


def _ints(*values: int) -> bytes:
    return array("i", values).tobytes()


def _entry_of_atom_5(*values: int) -> dict[str, bytes]:
    """A hand-made index: ``values`` as the entry of atom 5, the last one."""
    return {"entry_at": _ints(*[0] * TINY_ATOMS, len(values)), "entries": _ints(*values)}


def _tiny(**changes: Any) -> list[Any]:
    """Arguments of a one-query section: query 0 is tested when atom 5 is present, and is true."""
    args: dict[str, Any] = {
        **_rules(tested={5: [0]}),
        "always": (),
        "base": (),
        "slot": [0],
        "constants": {},
        "pos": {5: [0]},
        "view": None,
        "tests": [lambda v: True],
        "sources": ["source"],
    }
    args.update(changes)
    return [*args.values(), *FIELDS]


class Boom(Exception):
    pass


def _boom(v: object) -> bool:
    raise Boom


class Untruthful:
    def __bool__(self) -> bool:
        raise Boom


@needs_speedups
def test_tiny_section_is_right() -> None:
    hits = _c().section_hits(*_tiny())
    assert len(hits) == 1 and hits[0]._source == "source"
    assert _c().section_hits(*_tiny(tests=[lambda v: False])) == ()
    by_hand = _c().section_hits(*_tiny(**_entry_of_atom_5(4, 4, 4, 0)))  # the same index, packed by hand
    assert [h._source for h in by_hand] == ["source"]


@needs_speedups
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"entry_at": bytearray(4)}, TypeError),  # not bytes
        ({"entries": array("i")}, TypeError),
        ({"always": [0]}, TypeError),
        ({"base": []}, TypeError),
        ({"slot": (0,)}, TypeError),
        ({"pos": [5]}, TypeError),
        ({"tests": ()}, TypeError),
        ({"sources": ("source",)}, TypeError),
        ({"entry_at": b""}, ValueError),  # not even the end of the last entry
        ({"entry_at": b"\0\0\0"}, ValueError),  # not whole C ints
        ({"entries": b"\0"}, ValueError),
        ({"entries": _ints(4, 4, 4)}, ValueError),  # the entry runs past the end
        ({"entry_at": _ints(0, 0, 0, 0, 0, 4, 0)}, ValueError),  # an entry that ends before it starts
        (_entry_of_atom_5(4, 4), ValueError),  # too short for the three ends
        (_entry_of_atom_5(2, 4, 4, 0), ValueError),  # a run that ends before it starts
        (_entry_of_atom_5(4, 3, 4, 0), ValueError),
        (_entry_of_atom_5(4, 4, 5, 0), ValueError),  # a run past the entry
        (_entry_of_atom_5(3, 3, 3, 0, 1), ValueError),  # a conjunction cut short
        (_entry_of_atom_5(3, 3, 3, 0, 1, 0), ValueError),
        (_entry_of_atom_5(3, 3, 3, 0, -1, 0), ValueError),
        (_entry_of_atom_5(3, 3, 3, 0, 1, 0, 9), ValueError),  # an atom outside the index
        (_rules(tested={5: [1]}), IndexError),  # a query number beyond the section's queries
        (_rules(sure={5: [-1]}), IndexError),
        (_rules(sure_off={5: [2**31 - 1]}), IndexError),
        (_rules(conjunctions={5: [(3, (5,), ())]}), IndexError),
        ({"always": (7,)}, IndexError),
        ({"always": (10**30,)}, IndexError),
        ({"always": ("0",)}, TypeError),
        ({"pos": {"5": [0]}}, TypeError),  # an atom that is not an int
        ({"tests": []}, IndexError),  # no test for a candidate
        ({"slot": [4]}, ValueError),  # a slot beyond the end of ``base``
        ({"sources": [None]}, KeyError),  # a constant hit missing
        ({"sources": []}, IndexError),
        ({"tests": [_boom]}, Boom),  # a test's exception propagates
        ({"tests": [lambda v: Untruthful()]}, Boom),
    ],
)
def test_bad_input_raises(changes: dict[str, Any], error: type[BaseException]) -> None:
    with pytest.raises(error):
        _c().section_hits(*_tiny(**changes))


@needs_speedups
def test_atoms_outside_the_index_have_no_rules() -> None:
    args = _tiny(pos={-1: [0], TINY_ATOMS: [0], 10**30: [0], 2: [0]})
    assert _c().section_hits(*args) == () == engine._section_hits_py(*args)


@needs_speedups
def test_bad_arguments_raise() -> None:
    args = _tiny()
    with pytest.raises(TypeError):
        _c().section_hits(*args[:-1])  # too few
    with pytest.raises(TypeError):
        _c().section_hits(*args[:-3], "Hit", *FIELDS[1:])  # hit_type not a type
    with pytest.raises(TypeError):
        _c().section_hits(*args[:-2], 1, 2)  # not descriptors


@needs_speedups
def test_a_test_that_empties_the_lists_does_not_crash() -> None:
    tests: list[Any] = []
    slot = [0, 1]
    sources: list[Any] = ["a", "b"]

    def vandal(v: object) -> bool:
        tests.clear()
        slot.clear()
        sources.clear()
        return True

    tests += [vandal, vandal]
    args = _tiny(**_rules(tested={5: [0, 1]}), slot=slot, tests=tests, sources=sources)
    with pytest.raises(IndexError):
        _c().section_hits(*args)


@needs_speedups
def test_no_leaks(catalog: tuple[Fact, ...]) -> None:
    matcher = compile_matcher(catalog, tuple(make_watches(1_000, random.Random(1_007))))
    view = matcher.view(make_articles(1, random.Random(7))[0])

    def matches() -> None:
        for section in matcher._plan_for(view.lang):
            section.hits(view, matcher._tests, matcher._sources)

    def failures() -> None:
        for changes, error in [
            ({"tests": [_boom]}, Boom),
            ({"sources": [None]}, KeyError),
            (_entry_of_atom_5(3, 3, 3, 0, 1, 0, 9), ValueError),
            (_rules(tested={5: [1]}), IndexError),
            ({"pos": {"5": [0]}}, TypeError),
        ]:
            with pytest.raises(error):
                _c().section_hits(*_tiny(**changes))

    calls: list[Callable[[], Any]] = [matches, lambda: _c().section_hits(*_tiny()), failures]
    for call in calls:
        assert_does_not_leak(call, warmup=100, calls=3000, limit=64_000)
