"""Digest composition: stored stories in, a platform-neutral ``Digest`` out. Pure: no I/O.

Sections: each fact in catalog order, then the channel's watches, then "Other North Korea–Russia
coverage" (relevant stories that matched no fact or watch). Each story appears once, under its first
section, with every source that carried it; sections rank stories by number of sources, then recency,
and list the top N with "and K more". Stories whose only hits are facts the channel filtered out are
left out: the channel chose not to follow those facts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from bot.models import Alert, Digest, DigestSection, Fact, Label, SourceLink, StoryLine, Summary
from bot.store.repo import StoredArticle

OTHER_TITLE = "Other North Korea–Russia coverage"


@dataclasses.dataclass(frozen=True, slots=True)
class StoryInput:
    """One story as read from the store for a window."""

    story_id: int
    articles: tuple[StoredArticle, ...]  # oldest publication first
    fact_ids: frozenset[str]
    watch_ids: frozenset[str]

    @property
    def relevant(self) -> bool:
        return any(a.relevant for a in self.articles)

    @property
    def latest(self) -> datetime:
        return max(a.article.published for a in self.articles)

    def line(self, *, alerted: bool) -> StoryLine:
        """The story as one digest line: its first copy's title and link, and each outlet that carried
        it once (with the link of its first copy)."""
        first = self.articles[0].article
        seen: set[str] = set()
        sources: list[SourceLink] = []
        for a in self.articles:
            name = a.article.source or a.article.url
            if name.casefold() not in seen:
                seen.add(name.casefold())
                sources.append(SourceLink(name=name, url=a.article.url))
        return StoryLine(
            story_id=self.story_id,
            title=first.title,
            url=first.url,
            published=first.published,
            sources=tuple(sources),
            alerted=alerted,
            lang=first.lang,
        )


def story_inputs(
    rows: Sequence[tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]],
) -> list[StoryInput]:
    """Adapt ``Store.stories_in_window`` rows."""
    out = []
    for sid, _first, arts, hits in rows:
        out.append(
            StoryInput(
                story_id=sid,
                articles=tuple(sorted(arts, key=lambda a: (a.article.published, a.id))),
                fact_ids=frozenset(ref for _, kind, ref in hits if kind == "fact"),
                watch_ids=frozenset(ref for _, kind, ref in hits if kind == "watch"),
            )
        )
    return out


def compose_digest(
    stories: Sequence[StoryInput],
    *,
    facts: Sequence[Fact],
    watches: Mapping[str, str],
    window_start: datetime,
    window_end: datetime,
    fact_filter: Collection[str] | None = None,
    alerted: Collection[int] = (),
    facts_seen_before: Collection[str] = (),
    top_n: int | None = 5,
    title: str = "pactwatch digest",
    chart_png: bytes | None = None,
    zone: str = "UTC",
) -> Digest:
    """Build the digest of one window.

    ``watches`` maps the watch ids this digest covers (a channel's own) to their titles, in display
    order; ``fact_filter`` None means every fact; ``alerted`` are story ids already alerted here (marked);
    ``facts_seen_before`` are facts matched before this window (the others are new); ``top_n`` None
    lists every story of each section.
    """
    placed: set[int] = set()
    sections: list[DigestSection] = []
    counted: list[StoryInput] = []

    def section(kind: str, ref: str, label: str, members: list[StoryInput]) -> None:
        members = [s for s in members if s.story_id not in placed]
        if not members:
            return
        members.sort(key=lambda s: (-len({a.article.url for a in s.articles}), -s.latest.timestamp()))
        placed.update(s.story_id for s in members)
        counted.extend(members)
        shown = members if top_n is None else members[:top_n]
        sections.append(
            DigestSection(
                kind=kind,  # type: ignore[arg-type]
                ref=ref,
                title=label,
                stories=tuple(s.line(alerted=s.story_id in alerted) for s in shown),
                more=len(members) - len(shown),
            )
        )

    for fact in facts:
        if fact_filter is not None and fact.id not in fact_filter:
            continue
        section("fact", fact.id, fact.title, [s for s in stories if fact.id in s.fact_ids])
    for wid, wtitle in watches.items():
        section("watch", wid, wtitle, [s for s in stories if wid in s.watch_ids])
    section(
        "other",
        "other",
        OTHER_TITLE,
        [s for s in stories if s.relevant and not s.fact_ids and not (s.watch_ids & watches.keys())],
    )
    shown_facts = {s.ref for s in sections if s.kind == "fact"}
    new_facts = tuple(
        Label(ref=f.id, title=f.title) for f in facts if f.id in shown_facts and f.id not in facts_seen_before
    )
    return Digest(
        title=title,
        window_start=window_start,
        window_end=window_end,
        story_count=len(counted),
        article_count=sum(len(s.articles) for s in counted),
        sections=tuple(sections),
        new_facts=new_facts,
        chart_png=chart_png,
        zone=zone,
    )


def empty_note(
    window_start: datetime, window_end: datetime, *, title: str = "pactwatch digest", zone: str = "UTC"
) -> Digest:
    """The one-line digest a channel gets for an empty window when it asked for one."""
    return Digest(
        zone=zone,
        title=title,
        window_start=window_start,
        window_end=window_end,
        story_count=0,
        article_count=0,
        sections=(),
        note="Nothing new since the last digest.",
    )


def summary_of(alerts: Sequence[tuple[int | None, Alert]], *, title: str) -> Summary:
    """Alerts (with their story ids) held back by the hourly cap or quiet hours, as one message."""
    lines = []
    seen: set[str] = set()
    for story_id, a in alerts:
        key = f"s{story_id}" if story_id is not None else a.url
        if key in seen:
            continue
        seen.add(key)
        lines.append(
            StoryLine(
                story_id=story_id if story_id is not None else 0,
                title=a.title,
                url=a.url,
                published=a.published,
                sources=(SourceLink(name=a.source, url=a.url), *a.other_sources),
                lang=a.lang,
            )
        )
    return Summary(title=title, lines=tuple(lines))
