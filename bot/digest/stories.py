"""Stories: near-duplicate articles across feeds grouped into one story that keeps every source.

Three rules, cheapest first, each bounded to the recent window held in memory:

1. the same canonical URL;
2. the same normalised title (agency tags such as "(LEAD)" / "UPDATE 2-" and a trailing " - Publisher"
   removed), for titles of at least ``min_title_tokens`` words;
3. near-identical text: MinHash over word 3-shingles of title + summary, candidate stories from an LSH
   index (banded MinHash) that holds a few representative signatures per story, never every member: a
   story's first article and its latest ``story_sample - 1``. The candidate stories are ranked by colliding
   bands and capped at ``max_candidates``; the article is compared with each candidate story's
   representatives only, so a flood of copies of one release costs the same per item as distinct news.
   MinHash only finds the candidates: a candidate is accepted when the Jaccard similarity of the two
   shingle sets, counted exactly (the index keeps each article's shingle hashes), reaches ``threshold``
   or the shorter text is contained in the longer one (containment ≥ ``containment``, e.g. a feed that
   carries only the lead). Decisions do not depend on MinHash's estimation error.
   Two texts that name different numbers or weekdays (both ways) need ``anchor_threshold`` instead: two
   missile launches reported with the same boilerplate are different stories.

Languages are never grouped with each other: shingles do not cross languages, and a false merge would
hide a source; copies in different languages sit next to each other under the same fact in a digest.

``StoryIndex`` is pure and in memory (no I/O); ``bot.digest.clustering`` persists its decisions.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import deque
from datetime import datetime, timedelta

from bot.ingest.storysig import Shingled, Signature, SigParams, signer
from bot.models import Article

_WORD = re.compile(r"\w+", re.UNICODE)
_LEAD_TAG = re.compile(
    r"^\s*(?:\((?:[^)]{1,20})\)|\[(?:[^\]]{1,20})\]|update\s*\d*\s*[-:]|breaking\s*[-:]|urgent\s*[-:])\s*",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True, slots=True)
class StoryParams:
    """Thresholds measured on the wire-copy test set (``tests/digest/wirecopies.py``)."""

    threshold: float = 0.5
    containment: float = 0.7
    anchor_threshold: float = 0.85
    lsh_threshold: float = 0.3  # candidate retrieval, below the acceptance thresholds
    shingle: int = 3
    num_perm: int = 128
    min_shingles: int = 8  # shorter texts (title-only items) join only by URL or title
    min_title_tokens: int = 5
    story_sample: int = 4  # signatures per story in the LSH index: its first article and the latest ones
    max_candidates: int = 16  # candidate stories compared per article (most colliding LSH bands first)
    window: timedelta = timedelta(hours=72)
    max_articles: int = 20_000

    @property
    def sig(self) -> SigParams:
        """How texts are signed (the parser workers sign new articles with these)."""
        return SigParams(shingle=self.shingle, num_perm=self.num_perm, min_shingles=self.min_shingles)


def normalise_title(title: str, source: str = "") -> str:
    """Lower-case words of a headline without agency tags or a trailing publisher name."""
    t = unicodedata.normalize("NFKC", title).strip()
    for _ in range(3):
        stripped = _LEAD_TAG.sub("", t)
        if stripped == t:
            break
        t = stripped
    for sep in (" - ", " | ", " – ", " — "):
        head, found, tail = t.rpartition(sep)
        if found and head and (tail.strip().lower() == source.strip().lower() or len(tail.split()) <= 3):
            t = head
            break
    return " ".join(w.lower() for w in _WORD.findall(t))


@dataclasses.dataclass(slots=True)
class _Entry:
    story_id: int
    lang: str
    seen: datetime
    url: str
    title_key: str
    sig: Signature | None


class StoryIndex:
    """Recent articles by URL, normalised title and MinHash, each pointing at its story."""

    def __init__(self, params: StoryParams | None = None) -> None:
        from datasketch import MinHashLSH

        self.params = params or StoryParams()
        p = self.params
        self._signer = signer(p.sig)
        lsh = MinHashLSH(threshold=p.lsh_threshold, num_perm=p.num_perm)  # only for its band layout
        self._bands: list[tuple[int, int]] = [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]
        # band -> band hash -> representative article ids
        self._tables: list[dict[bytes, set[int]]] = [{} for _ in self._bands]
        # story id -> its representatives in the LSH index: the first article, then the latest ones
        self._reps: dict[int, list[int]] = {}
        self.comparisons = 0  # signature pairs compared, public for tests and benchmarks
        self._entries: dict[int, _Entry] = {}
        self._order: deque[int] = deque()
        # key -> (story id, the article that last claimed the key)
        self._by_url: dict[str, tuple[int, int]] = {}
        self._by_title: dict[str, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def story_of(self, article_id: int) -> int | None:
        """The story of an article already in the index (one routed again, when its page arrived)."""
        entry = self._entries.get(article_id)
        return None if entry is None else entry.story_id

    def signature(self, article: Article) -> Signature | None:
        """The MinHash of an article's text; None when it is too short to compare by text."""
        return self._signer.sign(article.text)

    def sign_shingled(self, read: Shingled) -> Signature | None:
        """The signature of a text a parser worker read (``bot.ingest.storysig.shingle``); None when it has
        too few distinct shingles to compare by text."""
        return self._signer.sign_shingled(read)

    def title_key(self, article: Article) -> str:
        key = normalise_title(article.title, article.source)
        if len(key.split()) < self.params.min_title_tokens:
            return ""
        return f"{article.lang}:{key}"

    def find(self, article: Article, sig: Signature | None = None) -> int | None:
        """The story this article belongs to, or None for a new story."""
        hit = self._by_url.get(article.url)
        if hit is not None:
            return hit[0]
        tk = self.title_key(article)
        if tk and tk in self._by_title:
            story_id, owner = self._by_title[tk]
            other = self._entries[owner].sig
            # The same headline over a report of a different event (other numbers, another day) is a
            # new story: agencies reuse "North Korea fires ballistic missile" for every launch.
            if sig is None or other is None:
                return story_id
            self.comparisons += 1
            if not self._conflict(sig, other):
                return story_id
        if sig is None:
            return None
        best: tuple[float, int] | None = None
        for story_id in self._candidates(sig, article.lang):
            for rep in self._reps[story_id]:
                entry = self._entries[rep]
                if entry.sig is None or entry.lang != article.lang:
                    continue
                self.comparisons += 1
                score = self._similar(sig, entry.sig)
                if score is not None and (best is None or score > best[0]):
                    best = (score, story_id)
        return best[1] if best else None

    def _band_keys(self, sig: Signature) -> list[bytes]:
        hv = sig.minhash.hashvalues
        return [bytes(hv[start:end].tobytes()) for start, end in self._bands]

    def _candidates(self, sig: Signature, lang: str) -> list[int]:
        """Stories whose representatives share LSH bands with ``sig``, most shared bands first (ties: the
        most recent), at most ``max_candidates``."""
        hits: dict[int, int] = {}
        for table, key in zip(self._tables, self._band_keys(sig), strict=True):
            for rep in table.get(key, ()):
                hits[rep] = hits.get(rep, 0) + 1
        stories: list[int] = []
        for rep in sorted(hits, key=lambda r: (hits[r], r), reverse=True):
            entry = self._entries[rep]
            if entry.lang == lang and entry.story_id not in stories:
                stories.append(entry.story_id)
                if len(stories) == self.params.max_candidates:
                    break
        return stories

    def _similar(self, a: Signature, b: Signature) -> float | None:
        p = self.params
        common = a.common(b)
        j = common / (a.size + b.size - common)
        if self._conflict(a, b, j):
            return None
        if j >= p.threshold:
            return j
        return j if common / min(a.size, b.size) >= p.containment else None

    def _conflict(self, a: Signature, b: Signature, j: float | None = None) -> bool:
        """The texts put different numbers or weekdays in the same slot, and are not near-verbatim."""
        slots_a: dict[str, set[str]] = {}
        for prev, value in a.anchors:
            slots_a.setdefault(prev, set()).add(value)
        slots_b: dict[str, set[str]] = {}
        for prev, value in b.anchors:
            slots_b.setdefault(prev, set()).add(value)
        if not any(slots_a[k].isdisjoint(slots_b[k]) for k in slots_a.keys() & slots_b.keys()):
            return False
        if j is None:
            common = a.common(b)
            j = common / (a.size + b.size - common)
        return j < self.params.anchor_threshold

    def add(
        self, article_id: int, story_id: int, article: Article, seen: datetime, sig: Signature | None = None
    ) -> None:
        """Remember an article (already assigned to ``story_id``) as a candidate for later copies."""
        if article_id in self._entries:
            return
        tk = self.title_key(article)
        self._entries[article_id] = _Entry(story_id, article.lang, seen, article.url, tk, sig)
        self._order.append(article_id)
        self._by_url[article.url] = (story_id, article_id)
        if tk:
            self._by_title[tk] = (story_id, article_id)
        if sig is not None:
            reps = self._reps.setdefault(story_id, [])
            reps.append(article_id)
            self._index_rep(article_id, sig, insert=True)
            if len(reps) > self.params.story_sample:  # keep the first, drop the oldest of the latest
                old = reps.pop(1 if self.params.story_sample > 1 else -1)
                old_sig = self._entries[old].sig
                assert old_sig is not None
                self._index_rep(old, old_sig, insert=False)
        while len(self._order) > self.params.max_articles:
            self._drop(self._order.popleft())

    def forget(self, article_id: int) -> None:
        """Take an article out of the index (its story was never written)."""
        if article_id in self._entries:
            self._drop(article_id)
            self._order.remove(article_id)

    def relabel(self, changes: dict[int, tuple[int, int]]) -> None:
        """Articles added under a provisional story id: article id -> (that id, the story it is in now).
        Their entries, their keys and the representatives of a renamed story follow."""
        for aid, (old, new) in changes.items():
            entry = self._entries.get(aid)
            if entry is None or old == new:
                continue
            entry.story_id = new
            if self._by_url.get(entry.url, (0, 0))[1] == aid:
                self._by_url[entry.url] = (new, aid)
            if entry.title_key and self._by_title.get(entry.title_key, (0, 0))[1] == aid:
                self._by_title[entry.title_key] = (new, aid)
            reps = self._reps.get(old)
            if reps is not None and aid in reps:
                reps.remove(aid)
                if not reps:
                    del self._reps[old]
                self._reps.setdefault(new, []).append(aid)

    def prune(self, now: datetime) -> None:
        """Forget articles older than the window (they were added roughly in time order)."""
        cutoff = now - self.params.window
        while self._order and self._entries[self._order[0]].seen < cutoff:
            self._drop(self._order.popleft())

    def _drop(self, article_id: int) -> None:
        entry = self._entries.pop(article_id)
        if self._by_url.get(entry.url, (0, 0))[1] == article_id:
            del self._by_url[entry.url]
        if entry.title_key and self._by_title.get(entry.title_key, (0, 0))[1] == article_id:
            del self._by_title[entry.title_key]
        reps = self._reps.get(entry.story_id)
        if entry.sig is not None and reps is not None and article_id in reps:
            reps.remove(article_id)
            if not reps:
                del self._reps[entry.story_id]
            self._index_rep(article_id, entry.sig, insert=False)

    def _index_rep(self, article_id: int, sig: Signature, *, insert: bool) -> None:
        for table, key in zip(self._tables, self._band_keys(sig), strict=True):
            if insert:
                table.setdefault(key, set()).add(article_id)
            else:
                bucket = table.get(key)
                if bucket is not None:
                    bucket.discard(article_id)
                    if not bucket:
                        del table[key]
