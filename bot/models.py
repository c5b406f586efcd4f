"""The core's plain data types.

Everything that crosses a seam of the flow — fetch → parse → match → route → outbox → send — is one of
these frozen dataclasses. They know nothing about Discord, Slack or the database. The outbound message
models (``Alert``, ``Digest``) are pydantic dataclasses so the outbox can store them as JSON and read them
back exactly.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import pydantic
from pydantic.dataclasses import dataclass as pyd_dataclass

Lang = str  # "en", "ko", "ru", or another BCP-47 primary tag; "und" when unknown
Priority = Literal["alert", "digest"]
AlertsMode = Literal["off", "facts", "watches", "all"]
Platform = Literal["discord", "slack", "console"]
FullText = Literal["auto", "always", "never"]  # when to fetch an item's linked page (bot/pages.py)
TextSource = Literal["feed", "page"]  # where the text an article was matched on came from
FULL_TEXT_MODES: tuple[FullText, ...] = ("auto", "always", "never")


# ---------------------------------------------------------------------------------------------------
# Feeds and articles
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as configured: by the operator (``config/feeds.toml``, ``--feed``) or from chat."""

    url: str
    name: str = ""
    language: Lang | None = None
    interval: int | None = None  # seconds; None means the global poll interval
    origin: Literal["operator", "chat"] = "operator"
    tenant: str | None = None  # "discord:<guild>" / "slack:<team>" for feeds added from chat
    full_text: FullText | None = None  # None: the global ``full_text`` setting


@dataclasses.dataclass(frozen=True, slots=True)
class Article:
    """One normalised feed entry. Text fields are plain text (no HTML), times are UTC-aware."""

    feed_url: str
    entry_id: str  # stable within its feed: guid, else link, else a hash of title+link
    url: str  # canonical: tracking parameters removed
    title: str
    summary: str
    published: datetime  # UTC; the first-seen time when the feed gave none
    lang: Lang
    source: str  # publisher name (the feed's name, or Google News' <source>)
    published_known: bool = True
    # The article's own text from its page (bot/pages.py), when that was fetched and said more than the
    # feed; then ``text_source`` is "page" and the matcher reads it instead of the summary.
    body: str = ""
    text_source: TextSource = "feed"

    def __reduce__(self) -> tuple[type[Article], tuple[Any, ...]]:
        # Plain positional arguments: a slotted dataclass's default pickling looks its fields up again
        # for every instance, and the parser workers hand thousands of articles over a round.
        return (
            Article,
            (
                self.feed_url,
                self.entry_id,
                self.url,
                self.title,
                self.summary,
                self.published,
                self.lang,
                self.source,
                self.published_known,
                self.body,
                self.text_source,
            ),
        )

    @property
    def main_text(self) -> str:
        """The text below the title that the matcher reads: the page's text, else the feed's summary."""
        return self.body if self.text_source == "page" and self.body else self.summary

    @property
    def text(self) -> str:
        """Title and main text together, as the matcher reads them."""
        main = self.main_text
        return f"{self.title}\n{main}" if main else self.title


# ---------------------------------------------------------------------------------------------------
# Facts, watches and matches
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Fact:
    id: str
    title: str
    statement: str
    priority: Priority
    query: str


@dataclasses.dataclass(frozen=True, slots=True)
class WatchSpec:
    """What the matcher needs of a watch: its id and its query. Ownership lives in the store."""

    id: str
    query: str


@pyd_dataclass(frozen=True)
class Evidence:
    """Why something matched: the terms that fired and a short snippet.

    ``highlights`` are (start, end) character offsets into ``snippet``; each platform renders them its
    own way (bold in Discord markdown and Slack mrkdwn, brackets on the console).
    """

    terms: tuple[str, ...]
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    field: Literal["title", "text"] = "text"

    def marked(self, left: str = "[", right: str = "]") -> str:
        """The snippet with each highlight wrapped in ``left``/``right``."""
        out: list[str] = []
        pos = 0
        for start, end in sorted(self.highlights):
            if start < pos:
                continue
            out.append(self.snippet[pos:start])
            out.append(left + self.snippet[start:end] + right)
            pos = end
        out.append(self.snippet[pos:])
        return "".join(out)


class EvidenceSource(Protocol):
    """Builds a hit's evidence when someone first reads it (the matcher's hits: most are never shown). It
    must be plain picklable data, no closures: hits cross process boundaries."""

    def build(self) -> Evidence: ...


EVIDENCE_ADAPTER: pydantic.TypeAdapter[Evidence] = pydantic.TypeAdapter(Evidence)


class EvidenceJSON:
    """A hit's evidence as the JSON the store keeps (``EVIDENCE_ADAPTER``), read back on first use. The
    parser workers hand hits over in this form: a string crosses the process boundary far more cheaply
    than the objects, and the store writes it as it is."""

    __slots__ = ("_built", "json")

    def __init__(self, json: str) -> None:
        self.json = json
        self._built: Evidence | None = None

    @classmethod
    def of(cls, evidence: Evidence) -> EvidenceJSON:
        return cls(EVIDENCE_ADAPTER.dump_json(evidence).decode())

    def build(self) -> Evidence:
        built = self._built
        if built is None:
            if not self.json:
                raise LookupError(
                    "This hit's evidence was not kept (a first poll's hit); match the article again to "
                    "build it."
                )
            built = self._built = EVIDENCE_ADAPTER.validate_json(self.json)
        return built

    def __reduce__(self) -> tuple[type[EvidenceJSON], tuple[str]]:
        return (EvidenceJSON, (self.json,))


# The evidence of a first poll's fact and watch hits: a new feed's first poll brings dozens of older items
# that alert nobody, and a snippet for each of their hundreds of hits would cost more than matching them.
# The store keeps it as "" and ``why`` and ``fact`` build it when asked, by matching the article again.
NOT_KEPT = EvidenceJSON("")


def evidence_json(source: Evidence | EvidenceSource) -> str:
    """The JSON the store keeps for a hit's evidence (``Hit.source``)."""
    if isinstance(source, EvidenceJSON):
        return source.json
    evidence = source if isinstance(source, Evidence) else source.build()
    return EVIDENCE_ADAPTER.dump_json(evidence).decode()


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Hit:
    """One fact or watch that matched an article: ``kind``, ``ref`` (fact id or watch id) and ``evidence``.

    ``source`` is the evidence itself, or what builds it on first read (``EvidenceSource``). Two hits are
    equal when their kind, ref and evidence are.
    """

    kind: Literal["fact", "watch"]
    ref: str
    source: Evidence | EvidenceSource

    def __post_init__(self) -> None:
        if self.kind not in ("fact", "watch"):
            raise ValueError(f"A hit's kind must be 'fact' or 'watch', not {self.kind!r}.")

    def __reduce__(self) -> tuple[type[Hit], tuple[Any, ...]]:
        return (Hit, (self.kind, self.ref, self.source))  # see Article.__reduce__

    @property
    def evidence(self) -> Evidence:
        source = self.source
        return source if isinstance(source, Evidence) else source.build()

    @property
    def kept(self) -> bool:
        """Whether the hit has its evidence (``NOT_KEPT``: a first poll's hit has none)."""
        source = self.source
        return not (isinstance(source, EvidenceJSON) and not source.json)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        if not (self.kept and other.kept):
            return (self.kind, self.ref, self.kept) == (other.kind, other.ref, other.kept)
        return (self.kind, self.ref, self.evidence) == (other.kind, other.ref, other.evidence)

    def __hash__(self) -> int:
        return hash((self.kind, self.ref))


@dataclasses.dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher found in one article: whether it is relevant, the facts and the watches it hit,
    and the evidence for relevance. ``over_budget``: the ids of the watches that did more work on this
    article than the matcher's budget allows (each is a miss here; the others are matched as usual)."""

    relevant: bool
    facts: tuple[Hit, ...] = ()
    watches: tuple[Hit, ...] = ()
    relevance: Evidence | None = None
    over_budget: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[type[MatchResult], tuple[Any, ...]]:
        return (MatchResult, (self.relevant, self.facts, self.watches, self.relevance, self.over_budget))

    def without_evidence(self) -> MatchResult:
        """This result with its fact and watch hits' evidence ``NOT_KEPT`` (a first poll's: see
        ``NOT_KEPT``); the relevance evidence, built while judging, stays."""
        if not self.facts and not self.watches:
            return self
        facts = tuple(Hit(h.kind, h.ref, NOT_KEPT) for h in self.facts)
        watches = tuple(Hit(h.kind, h.ref, NOT_KEPT) for h in self.watches)
        return MatchResult(self.relevant, facts, watches, self.relevance, self.over_budget)

    @property
    def fact_ids(self) -> tuple[str, ...]:
        return tuple(h.ref for h in self.facts)

    @property
    def watch_ids(self) -> tuple[str, ...]:
        return tuple(h.ref for h in self.watches)


class Matcher(Protocol):
    """Article in, matches with evidence out. Pure: no I/O, safe to call from any thread."""

    def match(self, article: Article) -> MatchResult: ...


@runtime_checkable
class PageGate(Protocol):
    """A matcher that can say cheaply, from an article's title and teaser, whether its page could give
    the matcher more to find (``CompiledMatcher.wants_page``)."""

    def wants_page(self, article: Article) -> bool: ...


class MatcherFactory(Protocol):
    """Compiles the catalog and every watch into one ``Matcher`` (rebuilt when watches change)."""

    def __call__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> Matcher: ...


# ---------------------------------------------------------------------------------------------------
# Outbound messages: what the outbox stores and the sinks render
# ---------------------------------------------------------------------------------------------------


@pyd_dataclass(frozen=True)
class Label:
    """A fact or watch named in a message: its id and a human title."""

    ref: str
    title: str


@pyd_dataclass(frozen=True)
class SourceLink:
    name: str
    url: str


@pyd_dataclass(frozen=True)
class Alert:
    """An immediate post about one story."""

    article_id: int
    title: str
    url: str
    source: str
    published: datetime
    lang: Lang
    facts: tuple[Label, ...] = ()
    watches: tuple[Label, ...] = ()
    evidence: Evidence | None = None
    other_sources: tuple[SourceLink, ...] = ()
    zone: str = "UTC"  # the subscription's time zone, for renderings that print times as text


@pyd_dataclass(frozen=True)
class StoryLine:
    """One story in a digest: a headline with every source that carried it."""

    story_id: int
    title: str
    url: str
    published: datetime
    sources: tuple[SourceLink, ...]
    alerted: bool = False
    lang: Lang = "und"


@pyd_dataclass(frozen=True)
class DigestSection:
    kind: Literal["fact", "watch", "other"]
    ref: str  # fact id, watch id, or "other"
    title: str
    stories: tuple[StoryLine, ...]
    more: int = 0  # stories left out of this section ("and K more")


# The chart PNG is binary: base64 in the outbox JSON (pydantic's default would require UTF-8).
@pyd_dataclass(frozen=True, config=pydantic.ConfigDict(ser_json_bytes="base64", val_json_bytes="base64"))
class Digest:
    title: str
    window_start: datetime
    window_end: datetime
    story_count: int
    article_count: int
    sections: tuple[DigestSection, ...]
    new_facts: tuple[Label, ...] = ()  # facts that appeared for the first time
    chart_png: bytes | None = None  # weekly trend chart, when attached
    note: str | None = None  # a one-line "nothing new" digest
    zone: str = "UTC"  # the subscription's time zone, for renderings that print times as text


@pyd_dataclass(frozen=True)
class Summary:
    """Alerts held back by the hourly cap, posted as one message where a channel has no digest."""

    title: str
    lines: tuple[StoryLine, ...]


Payload = Alert | Digest | Summary
PAYLOAD_ADAPTER: pydantic.TypeAdapter[Payload] = pydantic.TypeAdapter(Payload)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row as a sink sees it.

    ``key`` is unique per (subscription, item) and is what a sink passes to the platform (Discord
    ``nonce``, Slack message ``metadata``) so a retried or reconciled send never posts twice.
    """

    id: int
    key: str
    subscription_id: int
    platform: Platform
    channel: str
    payload: Payload
    mention_role: str | None = None
    attempts: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one send.

    - ``sent``: the platform accepted it; ``message_id`` when it gave one.
    - ``retry``: a transient failure (429, 5xx, timeout); try again after ``retry_after`` seconds.
    - ``channel_gone``: the channel refuses us (403/404, archived, not in channel): pause the
      subscription with ``reason`` until someone runs ``resume``.
    - ``rejected``: the platform refused this message for good (400); not retried, logged.
    """

    status: Literal["sent", "retry", "channel_gone", "rejected"]
    message_id: str | None = None
    retry_after: float | None = None
    reason: str | None = None


class Sink(Protocol):
    """A chat platform (or the console) as the outbox sees it."""

    platform: Platform

    async def send(self, delivery: Delivery) -> SendResult:
        """Post one delivery. Never raises for platform errors: report them in the result."""
        ...

    async def find_sent(self, delivery: Delivery) -> str | None:
        """Reconcile after a crash: the platform message id if this delivery was already posted."""
        ...
