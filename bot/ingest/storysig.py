"""What story clustering keeps of an article's text: a MinHash over its word shingles, with the numbers
and weekdays that tell two similar reports apart (``bot.digest.stories`` compares them).

Two steps. ``shingle`` (pure, no numpy) reads the text: its words, their shingles, each shingle's 32-bit
hash, and the anchors; the parser workers do it for every new article, next to parsing and matching.
``Signer.sign_shingled`` turns those hashes into the MinHash (datasketch, vectorised; tens of
microseconds) in the bot's process. The parser workers never import datasketch (numpy and scipy would
not fit under their memory ceiling)."""

from __future__ import annotations

import dataclasses
import functools
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
    """What the story index keeps of one article's text."""

    minhash: Any  # datasketch.LeanMinHash
    size: int  # number of distinct shingles
    anchors: frozenset[tuple[str, str]]


@dataclasses.dataclass(frozen=True, slots=True)
class Shingled:
    """A text read for signing: the 32-bit hashes of its distinct shingles (packed as ``array("I")``
    bytes: one object to hand from a worker to the bot rather than a couple of hundred ints), and its
    anchors."""

    hashes: bytes
    anchors: frozenset[tuple[str, str]]

    def __reduce__(self) -> tuple[type[Shingled], tuple[bytes, frozenset[tuple[str, str]]]]:
        return (Shingled, (self.hashes, self.anchors))

    def values(self) -> array[int]:
        """The hashes as numbers."""
        out = array("I")
        out.frombytes(self.hashes)
        return out


def tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def anchors(words: list[str]) -> frozenset[tuple[str, str]]:
    """Slots that tell two similar reports of different events apart: each number or weekday with the
    word before it ("about 350", "on monday"). A dateline's "nov 2" only conflicts with another date."""
    return frozenset(
        (words[i - 1], w) for i, w in enumerate(words) if i and (w.isdigit() or w in _ANCHOR_WORDS)
    )


def shingle_hash(shingle: str) -> int:
    """A shingle's 32-bit hash: the CRC-32 of its UTF-8. MinHash only needs distinct shingles to get
    distinct values (its random permutations do the mixing); CRC-32 is a C call, several times cheaper
    than the SHA-1 datasketch defaults to, and the workers hash a couple of hundred shingles an article."""
    return zlib.crc32(shingle.encode("utf-8"))


def shingle(text: str, params: SigParams) -> Shingled | None:
    """``text`` read for signing; None when it is too short to compare by text."""
    words = tokens(text)
    k = params.shingle
    if len(words) < k:
        hashes = {shingle_hash(" ".join(words))} if words else set()
    else:
        crc32 = zlib.crc32  # shingle_hash, inlined: this is the hot loop
        hashes = {crc32(" ".join(words[i : i + k]).encode("utf-8")) for i in range(len(words) - k + 1)}
    if len(hashes) < params.min_shingles:
        return None
    return Shingled(hashes=array("I", hashes).tobytes(), anchors=anchors(words))


def _as_is(value: int) -> int:
    return value


class Signer:
    """Signs texts with one set of MinHash permutations (datasketch, imported at first use)."""

    def __init__(self, params: SigParams) -> None:
        from datasketch import MinHash

        self.params = params
        self._template = MinHash(num_perm=params.num_perm, seed=1)

    def sign(self, text: str) -> Signature | None:
        """The signature of ``text``; None when it is too short to compare by text."""
        read = shingle(text, self.params)
        return None if read is None else self.sign_shingled(read)

    def sign_shingled(self, read: Shingled) -> Signature:
        """The signature of a text already read (``shingle``, in a parser worker)."""
        from datasketch import LeanMinHash, MinHash

        m = MinHash(
            num_perm=self.params.num_perm,
            seed=1,
            hashfunc=_as_is,  # the shingles are hashed already
            permutations=self._template.permutations,
            scheme=self._template.scheme,
        )
        values = read.values()
        m.update_batch(values)
        return Signature(minhash=LeanMinHash(m), size=len(values), anchors=read.anchors)


@functools.lru_cache(maxsize=4)
def signer(params: SigParams) -> Signer:
    """The process's signer for ``params`` (its permutations are made once)."""
    return Signer(params)
