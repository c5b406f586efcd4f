"""What story clustering keeps of an article's text: a MinHash over its word shingles, with the numbers
and weekdays that tell two similar reports apart (``bot.digest.stories`` compares them).

Two steps. ``shingle`` (pure, no numpy) reads the text: its words, each word's 32-bit hash, and the
anchors; the parser workers do it for every new article, next to parsing and matching.
``Signer.sign_shingled`` makes the shingles' hashes out of the word hashes and turns them into the MinHash
(numpy and datasketch, vectorised; tens of microseconds) in the bot's process. The parser workers never
import datasketch (numpy and scipy would not fit under their memory ceiling)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
import zlib
from array import array
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
_ANCHOR_WORDS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "понедельник",
        "вторник",
        "среда",
        "среду",
        "четверг",
        "пятница",
        "пятницу",
        "суббота",
        "субботу",
        "воскресенье",
        "월요일",
        "화요일",
        "수요일",
        "목요일",
        "금요일",
        "토요일",
        "일요일",
    ]
)


@dataclasses.dataclass(frozen=True, slots=True)
class SigParams:
    """How texts are signed: word ``shingle``-grams, ``num_perm`` permutations; texts with fewer than
    ``min_shingles`` shingles get no signature (title-only items join stories by URL or title)."""

    shingle: int = 3
    num_perm: int = 128
    min_shingles: int = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """What the story index keeps of one article's text: the MinHash finds candidates (LSH), the
    shingles decide."""

    minhash: Any  # datasketch.LeanMinHash
    size: int  # number of distinct shingles
    anchors: frozenset[tuple[str, str]]
    shingles: bytes  # the distinct shingles' hashes, sorted (packed uint32): ``size`` of them

    def common(self, other: Signature) -> int:
        """How many shingles the two texts share, counted exactly."""
        import numpy as np

        a = np.frombuffer(self.shingles, dtype=np.uint32)
        b = np.frombuffer(other.shingles, dtype=np.uint32)
        return len(np.intersect1d(a, b, assume_unique=True))


@dataclasses.dataclass(frozen=True, slots=True)
class Shingled:
    """A text read for signing: the 32-bit hash of each of its words, in order (packed as ``array("I")``
    bytes: one object to hand from a worker to the bot rather than a couple of hundred ints), and its
    anchors. ``Signer`` makes the shingles out of the word hashes."""

    words: bytes
    anchors: frozenset[tuple[str, str]]

    def __reduce__(self) -> tuple[type[Shingled], tuple[bytes, frozenset[tuple[str, str]]]]:
        return (Shingled, (self.words, self.anchors))


def tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def anchors(words: list[str]) -> frozenset[tuple[str, str]]:
    """Slots that tell two similar reports of different events apart: each number or weekday with the
    word before it ("about 350", "on monday"). A dateline's "nov 2" only conflicts with another date."""
    return frozenset(
        (words[i - 1], w) for i, w in enumerate(words) if i and (w.isdigit() or w in _ANCHOR_WORDS)
    )


# Word -> its hash, for the words a worker has seen (news repeats its vocabulary); cleared when full.
_WORD_HASHES: dict[str, int] = {}
_WORD_HASHES_MAX = 200_000


def word_hashes(words: list[str]) -> array[int]:
    """Each word's 32-bit hash: the CRC-32 of its UTF-8 (a C call; remembered for the words seen before).
    MinHash only needs distinct shingles to get distinct values, and its permutations do the mixing."""
    cache = _WORD_HASHES
    if len(cache) > _WORD_HASHES_MAX:
        cache.clear()
    get = cache.get
    values = [get(w) for w in words]
    if None in values:
        crc32 = zlib.crc32
        for i, value in enumerate(values):
            if value is None:
                word = words[i]
                values[i] = cache[word] = crc32(word.encode("utf-8"))
    return array("I", values)  # type: ignore[arg-type]  # every None was filled in


def shingle(text: str, params: SigParams) -> Shingled | None:
    """``text`` read for signing; None when it is too short to compare by text (fewer words than make
    ``min_shingles`` shingles; ``Signer`` also refuses fewer distinct ones)."""
    words = tokens(text)
    if not words or max(len(words) - params.shingle + 1, 1) < params.min_shingles:
        return None
    return Shingled(words=word_hashes(words).tobytes(), anchors=anchors(words))


def _as_is(value: Any) -> Any:
    return value


def _multipliers(k: int) -> list[int]:
    """Odd 64-bit constants, one per word of a shingle, fixed for every process and release."""
    return [
        int.from_bytes(hashlib.blake2b(f"pactwatch shingle {j}".encode(), digest_size=8).digest(), "big") | 1
        for j in range(k)
    ]


class Signer:
    """Signs texts with one set of MinHash permutations (datasketch and numpy, imported at first use).

    A shingle is ``k`` consecutive words; its 32-bit hash is the top half of ``sum(K_j * word_j)`` modulo
    2^64 over its word hashes with odd random ``K_j`` (multiply-shift hashing of a vector, computed for
    every shingle of a text in a few numpy operations)."""

    def __init__(self, params: SigParams) -> None:
        import numpy as np
        from datasketch import MinHash

        self.params = params
        self._template = MinHash(num_perm=params.num_perm, seed=1)
        self._k = np.array(_multipliers(params.shingle), dtype=np.uint64)

    def sign(self, text: str) -> Signature | None:
        """The signature of ``text``; None when it is too short to compare by text."""
        read = shingle(text, self.params)
        return None if read is None else self.sign_shingled(read)

    def shingle_hashes(self, read: Shingled) -> Any:
        """The distinct 32-bit hashes of a read text's shingles, sorted (a numpy array)."""
        import numpy as np

        words = np.frombuffer(read.words, dtype=np.uint32).astype(np.uint64)
        k = self._k
        n = len(words) - len(k) + 1
        if n < 1:  # fewer words than a shingle: the words are its one shingle
            acc = (words * k[: len(words)]).sum(dtype=np.uint64, keepdims=True)
        else:
            acc = words[:n] * k[0]
            for j in range(1, len(k)):
                acc += words[j : j + n] * k[j]
        return np.unique((acc >> np.uint64(32)).astype(np.uint32))

    def sign_shingled(self, read: Shingled) -> Signature | None:
        """The signature of a text already read (``shingle``, in a parser worker); None when it has fewer
        than ``min_shingles`` distinct shingles."""
        from datasketch import LeanMinHash, MinHash

        values = self.shingle_hashes(read)
        if len(values) < self.params.min_shingles:
            return None
        m = MinHash(
            num_perm=self.params.num_perm,
            seed=1,
            hashfunc=_as_is,  # the shingles are hashed already
            permutations=self._template.permutations,
            scheme=self._template.scheme,
        )
        # One batch item that is the whole array: datasketch applies its permutations to every value in
        # one vectorised step, where a batch of single values would go through a Python call each.
        # tests/digest/test_storysig.py checks this equals updating with the values one by one.
        m.update_batch([values])
        return Signature(
            minhash=LeanMinHash(m), size=len(values), anchors=read.anchors, shingles=values.tobytes()
        )


@functools.lru_cache(maxsize=4)
def signer(params: SigParams) -> Signer:
    """The process's signer for ``params`` (its permutations are made once)."""
    return Signer(params)
