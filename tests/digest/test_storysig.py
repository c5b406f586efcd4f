"""Story signatures (``bot.ingest.storysig``): shingles made from word hashes, the MinHash datasketch would
make from them, and exact shingle overlap."""

from __future__ import annotations

import random

import pytest
from datasketch import MinHash

from bot.ingest import storysig
from bot.ingest.storysig import Signer, SigParams, shingle, tokens

PARAMS = SigParams()
WORDS = [f"w{i}" for i in range(60)]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _exact_shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    words = tokens(text)
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def test_a_signature_counts_the_distinct_shingles_and_ignores_case() -> None:
    signer = Signer(PARAMS)
    rng = random.Random(3)
    for _ in range(200):
        text = _text(rng, rng.randint(10, 80))
        sig = signer.sign(text)
        assert sig is not None
        assert sig.size == len(_exact_shingles(text))
        upper = signer.sign(text.upper())
        assert upper is not None and upper.shingles == sig.shingles
        assert (upper.minhash.hashvalues == sig.minhash.hashvalues).all()


def test_shared_shingles_are_counted_exactly() -> None:
    signer = Signer(PARAMS)
    rng = random.Random(4)
    for _ in range(200):
        a, b = _text(rng, rng.randint(10, 60)), _text(rng, rng.randint(10, 60))
        if rng.random() < 0.5:
            b = a + " " + b  # b contains all of a's shingles
        sa, sb = signer.sign(a), signer.sign(b)
        assert sa is not None and sb is not None
        assert sa.common(sb) == sb.common(sa) == len(_exact_shingles(a) & _exact_shingles(b))


def test_word_order_makes_different_shingles() -> None:
    signer = Signer(PARAMS)
    text = " ".join(WORDS[:20])
    backwards = " ".join(reversed(WORDS[:20]))
    sa, sb = signer.sign(text), signer.sign(backwards)
    assert sa is not None and sb is not None
    assert sa.common(sb) == 0


def test_the_minhash_is_the_one_datasketch_makes_value_by_value() -> None:
    """``sign_shingled`` hands datasketch the whole array as one batch item; the result must be what
    updating with the values one at a time gives."""
    signer = Signer(PARAMS)
    rng = random.Random(5)
    for _ in range(50):
        read = shingle(_text(rng, rng.randint(10, 300)), PARAMS)
        assert read is not None
        sig = signer.sign_shingled(read)
        assert sig is not None
        values = [int(v) for v in signer.shingle_hashes(read)]
        template = MinHash(num_perm=PARAMS.num_perm, seed=1)
        one_by_one = MinHash(
            num_perm=PARAMS.num_perm,
            seed=1,
            hashfunc=lambda v: v,
            permutations=template.permutations,
            scheme=template.scheme,
        )
        one_by_one.update_batch(values)
        assert (one_by_one.hashvalues == sig.minhash.hashvalues).all()


def test_texts_too_short_or_too_repetitive_get_no_signature() -> None:
    signer = Signer(PARAMS)
    assert shingle("", PARAMS) is None
    assert shingle("one two three four five", PARAMS) is None  # 3 shingles, fewer than 8
    repetitive = "la la la la la la la la la la la la"  # 10 shingles, 1 distinct
    read = shingle(repetitive, PARAMS)
    assert read is not None and signer.sign_shingled(read) is None
    assert signer.sign(repetitive) is None


def test_the_word_hash_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storysig, "_WORD_HASHES", {})
    monkeypatch.setattr(storysig, "_WORD_HASHES_MAX", 100)
    signer = Signer(PARAMS)
    before = signer.sign(" ".join(f"word{i}" for i in range(50)))
    for start in range(0, 1000, 50):
        storysig.word_hashes([f"filler{i}" for i in range(start, start + 50)])
        assert len(storysig._WORD_HASHES) <= 150
    after = signer.sign(" ".join(f"word{i}" for i in range(50)))
    assert before is not None and after is not None and after.shingles == before.shingles
