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
import hashlib
import re
import unicodedata
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
    """A text read for signing: the 32-bit hashes of its distinct shingles, and its anchors."""

    hashes: tuple[int, ...]
    anchors: frozenset[tuple[str, str]]


def tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text))]


def shingles(words: list[str], k: int) -> set[str]:
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def anchors(words: list[str]) -> frozenset[tuple[str, str]]:
    """Slots that tell two similar reports of different events apart: each number or weekday with the
    word before it ("about 350", "on monday"). A dateline's "nov 2" only conflicts with another date."""
    return frozenset(
        (words[i - 1], w) for i, w in enumerate(words) if i and (w.isdigit() or w in _ANCHOR_WORDS)
    )


def shingle_hash(shingle: str) -> int:
    """A shingle's 32-bit hash (the first four bytes of its SHA-1, little-endian: datasketch's
    ``sha1_hash32``)."""
    return int.from_bytes(hashlib.sha1(shingle.encode("utf-8")).digest()[:4], "little")


def shingle(text: str, params: SigParams) -> Shingled | None:
    """``text`` read for signing; None when it is too short to compare by text."""
    words = tokens(text)
    sh = shingles(words, params.shingle)
    if len(sh) < params.min_shingles:
        return None
    return Shingled(hashes=tuple(shingle_hash(s) for s in sh), anchors=anchors(words))


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
        m.update_batch(read.hashes)
        return Signature(minhash=LeanMinHash(m), size=len(read.hashes), anchors=read.anchors)


@functools.lru_cache(maxsize=4)
def signer(params: SigParams) -> Signer:
    """The process's signer for ``params`` (its permutations are made once)."""
    return Signer(params)
