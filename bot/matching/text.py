"""Words as the matcher sees them: tokens with offsets, normalised keys, stems and Korean particles.

Every token keeps its offsets into the original text (so evidence can quote the text as published) and is
normalised on its own: NFKC, then casefold. A word is then reduced to a *key*:

- Latin script: the English Snowball stem (``treaties`` → ``treati``, ``signed`` → ``sign``);
- Cyrillic: the Russian Snowball stem; because Snowball is not consistent across every case ending
  (``Пхеньян`` → ``пхенья`` but ``Пхеньяну`` → ``пхеньян``), the matcher also accepts a token that
  starts with a term's stem followed by a short inflectional ending (see ``ru_ending_ok``);
- Hangul or Han characters: the word itself, and for tokens also the word with trailing particles
  removed (``러시아와의`` → ``러시아``, ``북한이`` → ``북한``), so a query word matches with particles
  attached;
- anything else (digits): the word itself.

``tokenize`` splits an article once; ``normalize_many`` and ``token_keys_many`` turn the word forms the
matcher has not seen before into keys, in one batch per article.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from itertools import accumulate, compress

import Stemmer

# A word: letters/digits (any script), with inner apostrophes ("don't", "Korea's").
TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SPLIT_RE = re.compile(f"({TOKEN_RE.pattern})")

# Separators that keep two words in one phrase: spaces, hyphens and dashes (U+2010–U+2015 up to the em
# dash and horizontal bar, U+2212 minus), slashes, middle dots ("북·러", "North Korea-Russia",
# "КНДР–Россия", "Москва — Пхеньян"). Anything else (comma, full stop, brackets, quotes, line break)
# ends a phrase, so "China, North Korea, Russia" is not the phrase "north korea russia".
_SOFT_GAP_RE = re.compile(r"[ \t\u00a0\-\u2010-\u2015\u2212/\u00b7\u30fb\u318d\u2027&+]*")
# A sentence ends at . ! ? (or their CJK forms) followed by a space, or at a line break.
_SENTENCE_END_RE = re.compile(r"[.!?。！？…][\"'”’»)\]]*\s|\n")

_HANGUL_OR_HAN_RE = re.compile(
    r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-z\u00c0-\u024f]")

# Korean particles and endings that attach to nouns, longest first. Stripped from tokens (never from
# query words, so a query word that happens to end like a particle — 회의 — still means itself).
_PARTICLE_LIST = """
에서부터 으로부터 에게서는 이라고 이라는 이라며 이라면 이었다 에서는 에서도 에서의 에게는 으로는
으로도 으로서 으로써 으로의 까지는 부터는 와의 과의 에의 에서 에게 한테 께서 으로 까지 부터 보다
처럼 마저 조차 이나 이랑 라고 라는 라며 이다 이며 이자 에는 에도 와는 과는 와도 과도 로는 로도
로서 로써 로의 만큼 밖에 하고 이고 였다 은 는 이 가 을 를 의 에 와 과 로 도 만 나 랑 께 들 측
"""
KOREAN_PARTICLES: tuple[str, ...] = tuple(sorted(set(_PARTICLE_LIST.split()), key=len, reverse=True))

_RU_VOWELS = frozenset("аеёиоуыэюяйь")
RU_MAX_ENDING = 3  # characters after the stem that still count as an inflection of the same word

_stemmers = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe; one per thread and language. Their own word cache is off
    # (size 0): the matcher caches what it resolves, and on a miss PyStemmer's cache costs ~3x the stemming.
    cache: dict[str, Stemmer.Stemmer] | None = getattr(_stemmers, "cache", None)
    if cache is None:
        cache = {}
        _stemmers.cache = cache
    stemmer = cache.get(language)
    if stemmer is None:
        stemmer = cache[language] = Stemmer.Stemmer(language, 0)
    return stemmer


def normalize(text: str) -> str:
    """NFKC, then casefold: what every comparison in the matcher works on."""
    return unicodedata.normalize("NFKC", text).casefold()


def normalize_many(words: list[str]) -> list[str]:
    """``normalize`` of each word; ASCII words, which NFKC leaves as they are, only lowercased."""
    return [word.lower() if word.isascii() else normalize(word) for word in words]


def script_of(word: str) -> str:
    """``"ko"`` (Hangul or Han), ``"ru"`` (Cyrillic), ``"en"`` (Latin) or ``"other"``."""
    if word.isascii():
        return "en" if _LATIN_RE.search(word) else "other"
    if _HANGUL_OR_HAN_RE.search(word):
        return "ko"
    if _CYRILLIC_RE.search(word):
        return "ru"
    if _LATIN_RE.search(word):
        return "en"
    return "other"


def _strip_possessive(word: str) -> str:
    if word.endswith(("'s", "’s")) and len(word) > 2:
        return word[:-2]
    return word


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """The key a normalised query word is looked up by (see the module docstring)."""
    return _key(_strip_possessive(word))


def _key(word: str) -> str:
    script = script_of(word)
    if script == "en":
        return str(_stemmer("english").stemWord(word))
    if script == "ru":
        return str(_stemmer("russian").stemWord(word))
    return word


@lru_cache(maxsize=65536)
def token_keys(word: str) -> tuple[str, ...]:
    """Every key a normalised token answers to: its own key, plus particle-stripped Korean forms."""
    return token_keys_many([word])[0]


def token_keys_many(words: list[str]) -> list[tuple[str, ...]]:
    """``token_keys`` of each word, uncached; Latin and Cyrillic words are stemmed in one call each."""
    out: list[tuple[str, ...]] = [()] * len(words)
    en_at: list[int] = []
    en_words: list[str] = []
    ru_at: list[int] = []
    ru_words: list[str] = []
    for i, word in enumerate(words):
        stripped = _strip_possessive(word)
        script = script_of(stripped)
        if script == "en":
            en_at.append(i)
            en_words.append(stripped)
        elif script == "ru":
            ru_at.append(i)
            ru_words.append(stripped)
        elif script != "ko" and (stripped is word or script_of(word) != "ko"):
            out[i] = (stripped,)
        else:
            out[i] = _korean_keys(word, stripped)
    for at, batch, language in ((en_at, en_words, "english"), (ru_at, ru_words, "russian")):
        if batch:
            for i, stem in zip(at, _stemmer(language).stemWords(batch), strict=True):
                out[i] = (str(stem),)
    return out


def _korean_keys(word: str, stripped: str) -> tuple[str, ...]:
    """A Korean token's keys: ``stripped``, then ``word`` without each particle it ends with, and each of
    those without a further particle."""
    keys = [stripped]
    for base in _strip_particle(word):
        if base not in keys:
            keys.append(base)
        for inner in _strip_particle(base):  # 러시아와의 → 러시아와 → 러시아
            if inner not in keys:
                keys.append(inner)
    return tuple(keys)


def _particles_by_last_char() -> dict[str, tuple[tuple[str, int], ...]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for particle in KOREAN_PARTICLES:  # longest first
        out.setdefault(particle[-1], []).append((particle, len(particle)))
    return {last: tuple(ps) for last, ps in out.items()}


_PARTICLES_BY_LAST = _particles_by_last_char()


def _strip_particle(word: str) -> list[str]:
    """``word`` without each particle it ends with, longest particle first (never the whole word)."""
    particles = _PARTICLES_BY_LAST.get(word[-1:])
    if not particles:
        return []
    n = len(word)
    return [word[: n - k] for p, k in particles if k < n and word.endswith(p)]


def ru_ending_ok(stem: str, ending: str) -> bool:
    """Whether ``stem + ending`` can be an inflected form of the word whose Snowball stem is ``stem``."""
    if len(ending) > RU_MAX_ENDING:
        return False
    if len(stem) >= 4:
        return True
    # Short stems ("кор" from "Кореи") accept only vowel endings, so "Кореи" does not match "корм".
    return all(ch in _RU_VOWELS for ch in ending)


class Tokens:
    """A text split into words. ``raw[i]``: word i as written; ``spans[i]``: its (start, end) offsets;
    ``soft[i]``: only soft separators between word i-1 and word i; ``sentence[i]``: its sentence number.
    ``soft``, ``sentence``, ``spans`` and the offsets behind them are read on first use (most articles
    never need them all)."""

    __slots__ = ("_bounds", "_parts", "_sentence", "_soft", "_spans", "raw")

    def __init__(self, raw: tuple[str, ...], parts: list[str]) -> None:
        self.raw = raw
        self._parts = parts  # gap, word 0, gap, word 1, …, gap: the text as ``tokenize`` split it
        self._soft: tuple[bool, ...] | None = None
        self._sentence: tuple[int, ...] | None = None
        self._bounds: list[int] | None = None
        self._spans: tuple[tuple[int, int], ...] | None = None

    @property
    def soft(self) -> tuple[bool, ...]:
        soft = self._soft
        if soft is None:
            soft, self._sentence = self._read_gaps()
            self._soft = soft
        return soft

    @property
    def sentence(self) -> tuple[int, ...]:
        sentence = self._sentence
        if sentence is None:
            self._soft, sentence = self._read_gaps()
            self._sentence = sentence
        return sentence

    def _read_gaps(self) -> tuple[tuple[bool, ...], tuple[int, ...]]:
        """``soft`` and ``sentence``, from the separators between the words."""
        raw = self.raw
        if not raw:
            return (), ()
        soft, breaks = _gap_kinds(self._parts[2:-1:2])  # gaps[i] separates word i and word i + 1
        if not any(breaks):
            return (False, *soft), (0,) * len(raw)
        steps = [0] * len(breaks)
        for i in compress(range(len(breaks)), breaks):
            # "U.S. and Russia": a full stop after a one- or two-letter word is an abbreviation.
            if breaks[i] == 2 or len(raw[i]) > 2:
                steps[i] = 1
        return (False, *soft), tuple(accumulate(steps, initial=0))

    def _offsets(self) -> list[int]:
        """Start of word 0, end of word 0, start of word 1, …, end of the text."""
        bounds = self._bounds
        if bounds is None:
            bounds = self._bounds = list(accumulate(map(len, self._parts)))
        return bounds

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        spans = self._spans
        if spans is None:
            bounds = self._offsets()
            spans = self._spans = tuple(zip(bounds[:-1:2], bounds[1::2], strict=True))
        return spans

    def between(self, i: int, j: int) -> tuple[int, int]:
        """Character offsets from the end of word ``i`` to the start of word ``j`` (without ``spans``)."""
        bounds = self._offsets()
        return bounds[2 * i + 1], bounds[2 * j]

    def words_before(self, offset: int) -> int:
        """How many words start before character ``offset``."""
        if self._bounds is None and offset <= _WALK_MAX_CHARS:
            # Near the start (the title's end, asked of every article): walk the first parts rather than
            # add up the whole text's offsets.
            at = words = 0
            for k, part in enumerate(self._parts):
                if at >= offset:
                    break
                words += k & 1
                at += len(part)
            return words
        return (bisect_left(self._offsets(), offset) + 1) // 2


_WALK_MAX_CHARS = 300  # ``words_before`` walks the parts for an offset this near the start
_GAP_CACHE_MAX = 4096  # distinct separators remembered (spaces, ", ", ". " …)
_soft_cache: dict[str, bool] = {}
_break_cache: dict[str, int] = {}  # 0: none; 1: sentence end unless after a short word; 2: line break


def _gap_kinds(gaps: list[str]) -> tuple[list[bool], list[int]]:
    soft = list(map(_soft_cache.get, gaps))
    breaks = list(map(_break_cache.get, gaps))
    if None in soft:
        for i, gap in enumerate(gaps):
            if soft[i] is None:
                soft[i] = _SOFT_GAP_RE.fullmatch(gap) is not None
                breaks[i] = 2 if "\n" in gap else 1 if _SENTENCE_END_RE.search(gap) is not None else 0
                if len(_soft_cache) < _GAP_CACHE_MAX:
                    _soft_cache[gap] = soft[i]  # type: ignore[assignment]
                    _break_cache[gap] = breaks[i]  # type: ignore[assignment]
    return soft, breaks  # type: ignore[return-value]


def tokenize(text: str) -> Tokens:
    """Split ``text`` into words with offsets, phrase joints and sentence numbers."""
    parts = split_parts(text)  # gap, word, gap, word, …, gap
    return Tokens(tuple(parts[1::2]), parts)


# Punctuation that often clings to a word ("Korea,", "(AP)", "«Пхеньян»"): none of it is a word character.
_CLINGING = ".,;:!?\"'()[]«»“”‘’—–-…"


def split_parts(text: str) -> list[str]:
    """``_SPLIT_RE.split(text)``: gap, word, gap, word, …, gap. No word contains a space, so the text is
    cut at spaces first. A piece that is one word, once any clinging punctuation is stripped, costs one
    C-level ``str.isalnum`` (true exactly for the regex's word characters) instead of a regex pass; the
    regex reads only the other pieces. About 30% faster on news text (benchmarks/bench_poll.py)."""
    parts: list[str] = []
    append = parts.append
    gap = ""  # what separates the last word from the next one, so far
    for piece in text.split(" "):
        if piece.isalnum():
            append(gap)
            append(piece)
            gap = " "
            continue
        core = piece.strip(_CLINGING)
        if core.isalnum():
            start = len(piece) - len(piece.lstrip(_CLINGING))
            append(gap + piece[:start])
            append(core)
            gap = piece[start + len(core) :] + " "
        elif piece:
            sub = _SPLIT_RE.split(piece)
            if len(sub) == 1:
                gap += piece + " "
            else:
                append(gap + sub[0])
                parts.extend(sub[1:-1])
                gap = sub[-1] + " "
        else:
            gap += " "
    append(gap[:-1])  # the text does not end with the space every piece was given
    return parts


def positions(resolved: list[tuple[int, ...] | None]) -> dict[int, list[int]]:
    """``{atom: indices of the words it is in}``, given ``resolved[i]``: the atoms of word i (or None);
    atoms in order of first appearance."""
    pos: dict[int, list[int]] = {}
    for i in compress(range(len(resolved)), resolved):  # most words have no atom: skipped in C
        for atom in resolved[i]:  # type: ignore[union-attr]  # compress kept only the words with atoms
            at = pos.get(atom)
            if at is None:
                pos[atom] = [i]
            else:
                at.append(i)
    return pos


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Normalised words of a query fragment with their offsets into ``text``."""
    return [(normalize(m.group()), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
