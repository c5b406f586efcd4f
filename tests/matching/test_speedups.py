"""The compiled tokenizer and position index (``bot.matching._speedups``) against the pure-Python reference
code in ``bot.matching.text``: identical results for every input, checked on the shared seed article and
corpora, the evaluation sets, every Unicode code point, and generated strings rich in edge cases."""

from __future__ import annotations

import functools
import importlib
import json
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching import engine, load_catalog, text
from bot.matching.engine import CompiledMatcher
from bot.models import WatchSpec
from tests.matching.conftest import REPO, assert_does_not_leak, make_article

Parts = tuple[tuple[str, ...], tuple[bool, ...], tuple[int, ...], list[int]]


def _load() -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module("bot.matching._speedups"), ""
    except ImportError as err:
        return None, f"{type(err).__name__}: {err}"


speedups, IMPORT_ERROR = _load()
needs_speedups = pytest.mark.skipif(
    speedups is None,
    reason=f"bot.matching._speedups is not compiled (no C compiler at install time?): {IMPORT_ERROR}",
)

CORPORA = Path(os.environ.get("PACTWATCH_CORPORA", REPO.parent / "shared" / "corpora"))
SEED = CORPORA.parent / "seed" / "treaty-summit-article.txt"
DATA = REPO / "tests" / "matching" / "data"


def c_tokenize(s: str) -> Parts:
    assert speedups is not None
    return speedups.tokenize(s)


def py_tokenize(s: str) -> Parts:
    tokens = text._tokenize_py(s)
    return tokens.raw, tokens.soft, tokens.sentence, tokens._bounds


def assert_same(s: str) -> None:
    got, want = c_tokenize(s), py_tokenize(s)
    assert got == want, s[:200]
    raw, soft, sentence, bounds = got
    assert (type(raw), type(soft), type(sentence), type(bounds)) == (tuple, tuple, tuple, list)
    assert all(type(w) is str for w in raw)
    assert all(type(f) is bool for f in soft)
    assert all(type(n) is int for n in (*sentence, *bounds))


def test_the_extension_is_built_when_required() -> None:
    if os.environ.get("PACTWATCH_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("PACTWATCH_REQUIRE_SPEEDUPS=1 is not set (CI sets it)")
    assert speedups is not None, f"bot.matching._speedups does not import: {IMPORT_ERROR}"


@needs_speedups
def test_text_uses_the_compiled_functions() -> None:
    assert speedups is not None
    assert text.positions is speedups.positions
    assert text.tokenize is not text._tokenize_py
    tokens = text.tokenize("North Korea-Russia ties. China, Russia")
    assert (tokens.raw, tokens.soft, tokens.sentence, tokens._bounds) == py_tokenize(
        "North Korea-Russia ties. China, Russia"
    )
    assert tokens.spans[2] == (12, 18)


@needs_speedups
@pytest.mark.parametrize(
    "s",
    [
        "",
        " \n ",
        "abc",
        "_",
        "a_b",
        "don't Korea’s 'quoted' rock'n'roll a'' b' ’c",
        "U.S. and Russia talk. Then more.",
        "North Korea-Russia ties. China, Russia",
        'He said "yes." Then left.” Next (really.) done',
        "첫 문장이다. 둘째 문장。셋째！ 넷째？ 다섯째… 끝",
        "Москва — Пхеньян\u2028Сеул\u00a0Токио",
        "abc.\u00a0def abc.\u3000def abc.\x1cdef abc.\x85def",
        "e\u0301te cafe\u0301 x\u20dd",
        "😀abc😀 𝐀𝐁𝐂 𠀀𠀁 𝟘𝟙",
        "\ud800abc\udfff def\udc80",
        "½ ² Ⅻ ١٢٣ ３",
    ],
)
def test_known_edge_cases(s: str) -> None:
    assert_same(s)


@needs_speedups
def test_every_code_point_is_classified_alike() -> None:
    # Word characters: every code point (surrogates included), in runs.
    for lo in range(0, 0x110000, 0x10000):
        assert_same("".join(map(chr, range(lo, lo + 0x10000))))
    # Separators: every other BMP character as a whole gap, before a space, after a full stop and
    # before a space (a closer), and right after a full stop (whitespace).
    gaps = [chr(c) for c in range(0x10000) if not chr(c).isalnum()]
    assert_same("".join(f"abc{g}cde{g} efg.{g} hij.{g}klm " for g in gaps))


@needs_speedups
@pytest.mark.skipif(not SEED.is_file(), reason="seed article not present (../shared/seed)")
def test_seed_article() -> None:
    assert_same(SEED.read_text(encoding="utf-8"))


@needs_speedups
@pytest.mark.skipif(not CORPORA.is_dir(), reason="shared corpora not present (../shared/corpora)")
def test_every_corpus_file() -> None:
    files = sorted(p for p in CORPORA.rglob("*") if p.is_file())
    assert files
    for path in files:
        # surrogateescape: files in other encodings give lone surrogates, one more edge case
        assert_same(path.read_bytes().decode("utf-8", "surrogateescape"))


@needs_speedups
def test_every_evaluation_article() -> None:
    paths = sorted(DATA.glob("*.jsonl"))
    assert paths
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                assert_same(f"{item['title']}\n\n{item['text']}")


SOFT_SEPARATORS = " \t\u00a0-\u2010\u2011\u2012\u2013\u2014\u2015\u2212/\u00b7\u30fb\u318d\u2027&+"
ALPHABET = [
    *"abcXYZéßĳ",  # Latin
    *"аяЁжЩ",  # Cyrillic
    *"북한이러시아가中國",  # Hangul, Han
    "\u1100",  # Hangul Jamo
    *"09٣３²½Ⅻ",  # digits and numerics: decimal, digit-only, numeric-only
    "_",
    "'",
    "’",
    *SOFT_SEPARATORS,
    *".!?。！？…",  # sentence ends
    *"\"'”’»)]",  # closers
    *" \t\n\r\x0b\x0c\x1c\x85\u00a0\u2028\u2029\u3000",  # whitespace, Unicode's too
    *",;:([«“",  # hard punctuation
    "\u0301",  # combining acute
    "\u200b",  # zero width space (not whitespace)
    "😀",
    "𝐀",  # astral letter
    "𝟘",  # astral digit
    "\U00020000",  # astral Han
    "\ud800",  # lone surrogate
]
CHUNKS = [
    "Russia",
    "Korea's",
    "U",
    "S",
    "of",
    "Пхеньян",
    "북한과",
    "42",
    "don't",
    ". ",
    ".",
    "! ",
    '." ',
    ".”) ",
    "…\u00a0",
    "。",
    "? ",
    " ",
    "-",
    " — ",
    ", ",
    "\n",
    "\n\n",
    "'",
    "’",
    "_",
]
edge_text = st.text(alphabet=st.sampled_from(ALPHABET), max_size=300)
chunk_text = st.lists(st.sampled_from(CHUNKS), max_size=80).map("".join)


@needs_speedups
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_text)
def test_generated_edge_case_text(s: str) -> None:
    assert_same(s)


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(chunk_text)
def test_generated_sentences(s: str) -> None:
    assert_same(s)


@needs_speedups
@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_unicode(s: str) -> None:
    assert_same(s)


resolved_lists = st.lists(
    st.one_of(st.none(), st.lists(st.integers(0, 40), max_size=6).map(tuple)), max_size=120
)


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(resolved_lists)
def test_positions(resolved: list[tuple[int, ...] | None]) -> None:
    assert speedups is not None
    got, want = speedups.positions(resolved), text._positions_py(resolved)
    assert got == want
    assert list(got) == list(want)  # atoms in order of first appearance


@needs_speedups
def test_errors_are_the_same_kind() -> None:
    assert speedups is not None
    for bad in (b"abc", None, 3):
        with pytest.raises(TypeError):
            text._tokenize_py(bad)
        with pytest.raises(TypeError):
            speedups.tokenize(bad)
    for fn in (speedups.positions, text._positions_py):
        with pytest.raises(TypeError):
            fn([([1],)])  # an unhashable atom
        with pytest.raises(TypeError):
            fn(None)
        # Any iterables work alike: a list entry, a generator argument.
        assert fn(x for x in [None, [3, 1], (), (1,)]) == {3: [1], 1: [1, 3]}


@needs_speedups
def test_no_leaks() -> None:
    assert speedups is not None
    s = "North Korea-Russia ties. U.S. and Russia talk.\nКНДР–Россия 북·러 😀 don't " * 20
    resolved: list[tuple[int, ...] | None] = [(1, 2), None, (), (2,), (3, 1)] * 50

    def bad_calls() -> None:
        assert speedups is not None
        for call in (lambda: speedups.tokenize(b"x"), lambda: speedups.positions([(1,), ([],)])):
            with pytest.raises(TypeError):
                call()

    calls: list[Callable[[], Any]] = [
        lambda: speedups.tokenize(s),
        lambda: speedups.positions(resolved),
        bad_calls,
    ]
    for call in calls:
        assert_does_not_leak(call, warmup=100, calls=3000, limit=64_000)


# ``splice``: the engine's answer for one section, against ``engine._splice_py``.


@st.composite
def sections(draw: st.DrawFn) -> tuple[Any, ...]:
    from bot.models import Hit

    n = draw(st.integers(0, 40))
    default_true = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n)) if n else set())
    positive = draw(st.sets(st.integers(0, n - 1), max_size=n)) if n else set()
    base_at = {q: i for i, q in enumerate(default_true)}
    constants = {q: Hit("watch", f"c{q}", text_evidence()) for q in range(n) if q not in positive}
    base = tuple(constants[q] for q in default_true if q in constants)
    # Only queries without positive words are in ``base`` (as in the engine).
    default_true = [q for q in default_true if q in constants]
    base_at = {q: i for i, q in enumerate(default_true)}
    from bisect import bisect_left

    slot = [~base_at[q] if q in base_at else bisect_left(default_true, q) for q in range(n)]
    sources: list[Any] = [f"source-{q}" if q in positive else None for q in range(n)]
    changes = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n)) if n else set())
    return base, changes, slot, sources, constants


def text_evidence() -> Any:
    from bot.models import Evidence

    return Evidence(terms=(), snippet="")


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(sections())
def test_splice(section: tuple[Any, ...]) -> None:
    from bot.models import Hit

    assert speedups is not None
    base, changes, slot, sources, constants = section
    context = object()
    fields = (Hit, engine._SOURCE_FIELD, engine._CONTEXT_FIELD)
    got = speedups.splice(base, changes, slot, sources, constants, context, *fields)
    want = engine._splice_py(base, changes, slot, sources, constants, context, *fields)
    assert type(got) is tuple and len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if any(w is c for c in (*base, *constants.values())):
            assert g is w  # constant hits are shared, not copied
        else:
            assert type(g) is Hit and g._source is w._source and g._context is context


@needs_speedups
def test_engine_uses_the_compiled_splice() -> None:
    assert speedups is not None
    assert engine.splice is speedups.splice


@needs_speedups
def test_splice_rejects_bad_input() -> None:
    from bot.models import Hit

    assert speedups is not None
    fields = (Hit, engine._SOURCE_FIELD, engine._CONTEXT_FIELD)
    with pytest.raises(TypeError):
        speedups.splice((), [], [], [], {}, None)  # too few arguments
    with pytest.raises(TypeError):
        speedups.splice([], [], [], [], {}, None, *fields)  # base must be a tuple
    with pytest.raises(IndexError):
        speedups.splice((), [5], [0], [None], {}, None, *fields)  # no slot for query 5
    with pytest.raises(ValueError):
        speedups.splice((), [0, 1], [1, 0], ["a", "b"], {}, None, *fields)  # slot past the end of base
    with pytest.raises(KeyError):
        speedups.splice((), [0], [0], [None], {}, None, *fields)  # constant hit missing
    with pytest.raises(TypeError):
        speedups.splice((), [0], [0], ["a"], {}, None, Hit, 1, 2)  # not descriptors


@needs_speedups
def test_splice_does_not_leak() -> None:
    from bot.models import Hit

    assert speedups is not None
    constant = Hit("watch", "c", text_evidence())
    base = (constant,) * 50
    slot = [~(i // 2) if i % 2 else i // 2 for i in range(100)]  # new hits and cuts, interleaved
    sources: list[Any] = [None if i % 4 == 2 else "s" for i in range(100)]
    constants = {i: constant for i in range(100)}
    fields = (Hit, engine._SOURCE_FIELD, engine._CONTEXT_FIELD)
    changes = list(range(100))

    def once() -> None:
        assert speedups is not None
        speedups.splice(base, changes, slot, sources, constants, None, *fields)
        with pytest.raises(KeyError):
            speedups.splice(base, [2], slot, sources, {}, None, *fields)

    assert_does_not_leak(once, warmup=100, calls=3000, limit=64_000)


# ``korean_keys``: a Korean token's particle-stripped keys, against ``text._korean_keys_py``.

_PARTICLES = list(text.KOREAN_PARTICLES)
korean_words = st.builds(
    lambda stem, tail: stem + "".join(tail),
    st.text(alphabet="가나다러시아북한의와이를은는에서로과도", min_size=0, max_size=5),
    st.lists(st.sampled_from(_PARTICLES), max_size=3),
)


@needs_speedups
@settings(max_examples=1500, deadline=None)
@given(korean_words)
def test_korean_keys(word: str) -> None:
    assert speedups is not None
    by_last = text._PARTICLES_BY_LAST
    assert speedups.korean_keys(word, word, by_last) == text._korean_keys_py(word, word, by_last)


@needs_speedups
def test_korean_keys_on_the_evaluation_articles() -> None:
    assert speedups is not None
    by_last = text._PARTICLES_BY_LAST
    words = {
        text.normalize(w)
        for path in DATA.glob("*ko.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for w in text.tokenize(json.loads(line)["title"] + "\n" + json.loads(line)["text"]).raw
    }
    assert len(words) > 1000
    for word in words:
        assert speedups.korean_keys(word, word, by_last) == text._korean_keys_py(word, word, by_last), word
    assert speedups.korean_keys("러시아와의", "러시아와의", by_last) == ("러시아와의", "러시아", "러시아와")
    with pytest.raises(TypeError):
        speedups.korean_keys("러시아", "러시아", {"아": ["x"]})  # particles must be a tuple of pairs
    assert_does_not_leak(lambda: speedups.korean_keys("러시아와의", "러시아와의", by_last))


# ``token_keys_many`` and ``atoms_of_many``: new word forms resolved to atoms, against
# ``text._token_keys_many_py`` and ``engine._Atoms._atoms_of`` (whose prefixes come from the automaton).

_WATCHES = (
    "sanction* OR санкци* OR 제재* OR россия OR пхеньян OR кор* OR 러시아 OR 북한의 OR treaty OR treaties",
    '"north korea" NEAR/3 russia* OR kim OR 김정은* OR 러* OR ко* OR korea\'s OR 1961 OR ½',
    "москва OR кремль OR договор OR ратифицировал OR войск* OR военн* OR северокорейск* OR ядерн*",
)


def _fresh_matcher() -> CompiledMatcher:
    facts = tuple(load_catalog(REPO / "config" / "facts.toml"))
    return CompiledMatcher(facts, tuple(WatchSpec(f"w{i}", q) for i, q in enumerate(_WATCHES)))


_matcher = functools.cache(_fresh_matcher)


def _stems() -> tuple[Any, Any]:
    return text._stemmer("english").stemWords, text._stemmer("russian").stemWords


def _evaluation_words() -> list[str]:
    return sorted(
        {
            text.normalize(w)
            for path in DATA.glob("*.jsonl")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
            for w in text.tokenize(json.loads(line)["title"] + "\n" + json.loads(line)["text"]).raw
        }
    )


_EDGE_WORDS = [
    "a's", "ab's", "abc's", "x’s", "'s", "ss", "러시아's", "россия's", "북한’s", "1234", "½", "ǅ", "ⓐ", "é",
    "кор", "кореи", "корм", "корея", "коре", "россиянин", "пхеньяну", "러",
    "러시아와의", "北러", "a1б", "б1a", "ȷ", "ɏ", "ɐ", "ÿ", "ԯ", "ꙁ", "ᄀ", "ힰ", "ﬀ",
]  # fmt: skip

any_words = st.one_of(
    korean_words,
    st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюя", min_size=1, max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz'’s", min_size=1, max_size=12),
    st.text(min_size=1, max_size=8),
)


@needs_speedups
def test_token_keys_many_on_the_evaluation_articles() -> None:
    assert speedups is not None
    words = _evaluation_words() + _EDGE_WORDS
    assert len(words) > 5000
    by_last = text._PARTICLES_BY_LAST
    assert speedups.token_keys_many(words, by_last, *_stems()) == text._token_keys_many_py(words)
    assert text.token_keys_many(["treaties", "договоров", "러시아와의", "1961"]) == [
        ("treati",),
        ("договор",),
        ("러시아와의", "러시아", "러시아와"),
        ("1961",),
    ]


@needs_speedups
@settings(max_examples=600, deadline=None)
@given(st.lists(any_words, max_size=12))
def test_token_keys_many(words: list[str]) -> None:
    assert speedups is not None
    got = speedups.token_keys_many(words, text._PARTICLES_BY_LAST, *_stems())
    assert got == text._token_keys_many_py(words)


@needs_speedups
def test_atoms_of_many_equals_the_automaton() -> None:
    matcher = _matcher()
    atoms = matcher._atoms
    assert atoms.automaton is not None and len(atoms.trie) > len(atoms.prefix) > 3
    words = _evaluation_words() + _EDGE_WORDS
    keys = text.token_keys_many(words)
    got = atoms._atoms_of_many(words, keys)
    want = [atoms._atoms_of(w, k) for w, k in zip(words, keys, strict=True)]
    assert got == want
    assert sum(1 for found in got if len(found) > 1) > 100  # many words answer several atoms


@needs_speedups
@settings(max_examples=600, deadline=None)
@given(st.lists(any_words, max_size=12))
def test_atoms_of_many(words: list[str]) -> None:
    atoms = _matcher()._atoms
    words = [text.normalize(w) for w in words]
    keys = text.token_keys_many(words)
    assert atoms._atoms_of_many(words, keys) == [
        atoms._atoms_of(w, k) for w, k in zip(words, keys, strict=True)
    ]


@needs_speedups
def test_resolving_rejects_bad_input() -> None:
    assert speedups is not None
    by_last, (en, ru) = text._PARTICLES_BY_LAST, _stems()
    with pytest.raises(TypeError):
        speedups.token_keys_many(("a",), by_last, en, ru)  # a list, not a tuple
    with pytest.raises(TypeError):
        speedups.token_keys_many(["a", 1], by_last, en, ru)
    with pytest.raises(TypeError):
        speedups.token_keys_many(["abc"], by_last, lambda words: words[:0], ru)  # a stem per word
    with pytest.raises(ZeroDivisionError):
        speedups.token_keys_many(["abc"], by_last, lambda words: 1 / 0, ru)  # the stemmer's error
    assert speedups.token_keys_many([], by_last, en, ru) == []
    exact = {"abc": [1, 2]}
    trie = {
        "a": (),
        "ab": ((3, False),),
        "к": (),
        "ко": (),
        "кор": ((4, True),),
        "x": (),
        "xy": ((5, False),),
    }
    words, keys = ["abcd", "кореи", "корм", "xzy"], [("abc",), ("кор",), (), ()]
    assert speedups.atoms_of_many(words, keys, exact, trie, 3) == [(1, 2, 3), (4,), (), ()]
    with pytest.raises(ValueError):
        speedups.atoms_of_many(["a"], [], exact, trie, 3)
    with pytest.raises(TypeError):
        speedups.atoms_of_many(["a"], [["a"]], exact, trie, 3)  # keys are tuples
    with pytest.raises(TypeError):
        speedups.atoms_of_many(["ab"], [()], exact, {"a": (), "ab": ((3,),)}, 3)  # pairs
    with pytest.raises(TypeError):
        speedups.atoms_of_many(["ab"], [()], exact, trie, "3")


@needs_speedups
def test_resolving_does_not_leak() -> None:
    assert speedups is not None
    atoms = _matcher()._atoms
    words = ["러시아와의", "договорами", "treaties", "1961", "korea's", "санкциями"]

    def once() -> None:
        assert speedups is not None
        keys = speedups.token_keys_many(words, text._PARTICLES_BY_LAST, *_stems())
        speedups.atoms_of_many(words, keys, atoms.exact, atoms.trie, text.RU_MAX_ENDING)

    assert_does_not_leak(once, calls=3000)


# ``lookup_positions``: an article's word positions from the word cache and one batch of new words,
# against ``engine._lookup_positions_py``.


def _resolver(calls: list[list[str]]) -> Callable[[list[str]], list[tuple[int, ...]]]:
    def resolve(forms: list[str]) -> list[tuple[int, ...]]:
        calls.append(list(forms))
        return [tuple(sorted({len(f), ord(f[0]) % 5})) if f else () for f in forms]

    return resolve


small_words = st.text(alphabet="ab러", min_size=0, max_size=3)


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(
    st.lists(small_words, max_size=40),
    st.dictionaries(small_words, st.one_of(st.none(), st.lists(st.integers(0, 6), max_size=3).map(tuple))),
)
def test_lookup_positions(words: list[str], cached: dict[str, tuple[int, ...] | None]) -> None:
    assert speedups is not None
    raw = tuple(words)
    c_calls: list[list[str]] = []
    py_calls: list[list[str]] = []
    got = speedups.lookup_positions(raw, dict(cached), _resolver(c_calls))  # type: ignore[arg-type]
    want = engine._lookup_positions_py(raw, dict(cached), _resolver(py_calls))  # type: ignore[arg-type]
    assert got == want and list(got) == list(want)
    assert all(list(got[a]) == list(want[a]) for a in got)
    assert c_calls == py_calls  # the same new words, once each, in the same order


@needs_speedups
def test_lookup_positions_on_the_evaluation_articles() -> None:
    compiled, reference = _fresh_matcher(), _fresh_matcher()
    articles = [
        json.loads(line)
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(articles) > 300
    for item in articles:
        raw = text.tokenize(item["title"] + "\n" + item["text"]).raw
        a, b = compiled._atoms, reference._atoms
        assert engine.lookup_positions(raw, a.cache, a.resolve_many) == engine._lookup_positions_py(
            raw, b.cache, b.resolve_many
        )
    assert compiled._atoms.cache == reference._atoms.cache
    assert engine.lookup_positions is speedups.lookup_positions  # type: ignore[union-attr]


@needs_speedups
def test_lookup_positions_rejects_bad_input() -> None:
    assert speedups is not None
    for function in (speedups.lookup_positions, engine._lookup_positions_py):
        with pytest.raises(ValueError):
            function(("a", "b"), {}, lambda forms: [(1,)])  # one entry per new word
        with pytest.raises(ZeroDivisionError):
            function(("a",), {}, lambda forms: [1 / 0])  # the resolver's own error
        assert function(("a", "b", "a"), {"b": (2,)}, lambda forms: [(1,)] * len(forms)) == {
            1: [0, 2],
            2: [1],
        }
    with pytest.raises(TypeError):
        speedups.lookup_positions(["a"], {}, len)  # type: ignore[arg-type]


@needs_speedups
def test_lookup_positions_does_not_leak() -> None:
    assert speedups is not None
    raw = ("north", "korea", "and", "russia", "sign", "a", "treaty", "in", "pyongyang", "korea")

    def resolve(forms: list[str]) -> list[tuple[int, ...]]:
        return [(len(f), 100 + len(f)) for f in forms]

    assert_does_not_leak(lambda: speedups.lookup_positions(raw, {"and": (1,)}, resolve))


# ``phrase_spans``: where a phrase's words follow each other, against ``engine._phrase_spans_py``.


@st.composite
def phrase_cases(draw: st.DrawFn) -> tuple[Any, ...]:
    n = draw(st.integers(0, 30))
    words = draw(
        st.lists(st.lists(st.integers(0, 4), max_size=2, unique=True).map(tuple), min_size=n, max_size=n)
    )
    pos = text._positions_py(list(words))
    soft = tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    rest = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    limit = draw(st.integers(0, n + 1))
    return pos, draw(st.integers(0, 5)), rest, soft, limit, draw(st.integers(0, 8))


@needs_speedups
@settings(max_examples=1500, deadline=None)
@given(phrase_cases())
def test_phrase_spans(case: tuple[Any, ...]) -> None:
    assert speedups is not None
    assert speedups.phrase_spans(*case) == engine._phrase_spans_py(*case)


@needs_speedups
def test_phrase_spans_on_the_evaluation_articles() -> None:
    assert engine.phrase_spans is speedups.phrase_spans  # type: ignore[union-attr]
    matcher = _matcher()
    phrases = [n for n in _nodes(matcher) if isinstance(n, engine._Phrase)]
    assert len(phrases) > 50
    found = 0
    for line in (
        line for p in sorted(DATA.glob("*.jsonl")) for line in p.read_text(encoding="utf-8").splitlines()
    ):
        if not line.strip():
            continue
        item = json.loads(line)
        v = matcher.view(make_article(item["title"], item["text"], item.get("lang", "en")))
        soft = v.tokens.soft
        for phrase in phrases:
            limit = v.n_title if phrase.title_only else len(soft)
            args = (v.pos, phrase.first, phrase.rest, soft, limit, engine.MAX_SPANS)
            got = engine.phrase_spans(*args)
            assert got == engine._phrase_spans_py(*args)
            found += len(got)
    assert found > 500


def _nodes(matcher: CompiledMatcher) -> list[Any]:
    out: list[Any] = []
    todo: list[Any] = list(matcher._nodes)
    while todo:
        node = todo.pop()
        out.append(node)
        for name in ("children", "left", "right", "child"):
            child = getattr(node, name, None)
            todo.extend(child if isinstance(child, tuple) else [] if child is None else [child])
    return out


@needs_speedups
def test_phrase_spans_rejects_bad_input() -> None:
    assert speedups is not None
    pos = {1: [0, 2], 2: [1, 3]}
    assert speedups.phrase_spans(pos, 1, (2,), (False, True, False, True), 4, 9) == [(0, 1), (2, 3)]
    assert speedups.phrase_spans(pos, 1, (2,), (False, True, False, False), 4, 9) == [(0, 1)]
    assert speedups.phrase_spans(pos, 1, (2,), (False, True, False, True), 3, 9) == [(0, 1)]
    assert speedups.phrase_spans(pos, 1, (2,), (False, True, False, True), 4, 1) == [(0, 1)]
    with pytest.raises(IndexError):
        speedups.phrase_spans(pos, 1, (2,), (False,), 4, 9)  # soft shorter than the words
    with pytest.raises(TypeError):
        speedups.phrase_spans(pos, 1, [2], (False, True), 4, 9)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        speedups.phrase_spans(pos, 1, tuple(range(100)), (), 4, 9)


@needs_speedups
def test_phrase_spans_do_not_leak() -> None:
    assert speedups is not None
    pos = {1: [0, 2, 4, 6], 2: [1, 3, 5, 7]}
    soft = (True,) * 8
    assert_does_not_leak(lambda: speedups.phrase_spans(pos, 1, (2,), soft, 8, 9))


# ``point_spans``: plain words' positions as spans, against ``engine._point_spans_py``.


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(
    st.dictionaries(st.integers(0, 40), st.lists(st.integers(0, 300), max_size=12).map(sorted)),
    st.sets(st.integers(0, 40)),
    st.integers(0, 5),
)
def test_point_spans(pos: dict[int, list[int]], atoms: set[int], max_spans: int) -> None:
    assert speedups is not None
    present = pos.keys() & atoms
    assert speedups.point_spans(pos, present, max_spans) == engine._point_spans_py(pos, present, max_spans)
    if atoms - pos.keys():
        for function in (speedups.point_spans, engine._point_spans_py):
            with pytest.raises(KeyError):
                function(pos, atoms, max_spans)


@needs_speedups
def test_point_spans_reject_bad_input_and_do_not_leak() -> None:
    assert speedups is not None
    assert engine.point_spans is speedups.point_spans
    assert speedups.point_spans({1: [2, 5], 3: [4]}, [3, 1], 1) == [(4, 4), (2, 2)]
    with pytest.raises(TypeError):
        speedups.point_spans({1: (2,)}, [1], 1)  # position lists are lists
    with pytest.raises(TypeError):
        speedups.point_spans([], [1], 1)  # type: ignore[arg-type]
    assert_does_not_leak(lambda: speedups.point_spans({1: [2, 5], 3: [4]}, {1, 3}, 9))


# ``normalize_many``: NFKC and casefold, against ``text._normalize_many_py``.


@needs_speedups
@settings(max_examples=800, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.text(alphabet="AbZz09'ẞİﬀ½Ⅻ", max_size=8)), max_size=10))
def test_normalize_many(words: list[str]) -> None:
    assert speedups is not None
    got = speedups.normalize_many(words, unicodedata.normalize)
    assert got == text._normalize_many_py(words) == [text.normalize(w) for w in words]
    assert all(type(w) is str for w in got)


@needs_speedups
def test_normalize_many_on_the_evaluation_articles() -> None:
    assert speedups is not None
    words = _evaluation_raw_words()
    assert len(words) > 5000
    assert text.normalize_many(words) == [text.normalize(w) for w in words]
    with pytest.raises(TypeError):
        speedups.normalize_many(["a", 1], unicodedata.normalize)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        speedups.normalize_many(["é"], lambda form, word: 1)  # type: ignore[arg-type, return-value]
    assert_does_not_leak(lambda: speedups.normalize_many(["Abc", "Россия", "러시아"], unicodedata.normalize))


def _evaluation_raw_words() -> list[str]:
    return sorted(
        {
            w
            for path in DATA.glob("*.jsonl")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
            for w in text.tokenize(json.loads(line)["title"] + "\n" + json.loads(line)["text"]).raw
        }
    )
