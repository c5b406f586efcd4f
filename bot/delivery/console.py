"""The console sink: alerts and digests as plain text on a stream (stdout for ``run``)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from bot.models import Alert, Delivery, Digest, Payload, Platform, SendResult, StoryLine, Summary
from bot.schedule import zone_or_utc


def local_time(when: datetime, zone: str) -> str:
    """``when`` in ``zone`` as "2026-11-02 17:00 KST"."""
    local = when.astimezone(zone_or_utc(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_window(start: datetime, end: datetime, zone: str) -> str:
    """A window in ``zone`` as "2026-11-01 17:00 – 2026-11-02 17:00 KST" (the zone named once when both
    ends share its abbreviation)."""
    a, b = start.astimezone(zone_or_utc(zone)), end.astimezone(zone_or_utc(zone))
    if a.tzname() == b.tzname():
        return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M} {b.tzname()}"
    return f"{local_time(start, zone)} – {local_time(end, zone)}"


def render_text(payload: Payload) -> str:
    """Plain-text rendering shared by the console sink and ``pactwatch digest --format text``."""
    if isinstance(payload, Alert):
        tags = [f.title for f in payload.facts] + [f"watch: {w.title}" for w in payload.watches]
        lines = [
            f"ALERT {payload.title}",
            f"  {payload.source} · {local_time(payload.published, payload.zone)} · {payload.lang}",
            f"  {payload.url}",
        ]
        if tags:
            lines.append("  matched: " + "; ".join(tags))
        if payload.evidence is not None:
            lines.append("  why: " + payload.evidence.marked("[", "]"))
        return "\n".join(lines)
    if isinstance(payload, Digest):
        return render_digest_text(payload)
    if isinstance(payload, Summary):
        lines = [payload.title]
        lines += [f"  - {s.title} ({', '.join(x.name for x in s.sources)}) {s.url}" for s in payload.lines]
        return "\n".join(lines)
    raise TypeError(f"unknown payload {type(payload).__name__}")


@dataclasses.dataclass(frozen=True, slots=True)
class DigestStyle:
    """How one text format marks up a digest's parts (the layout is the same in each)."""

    title: Callable[[str], str]
    subtitle: Callable[[str], str]
    label: Callable[[str], str]
    story: Callable[[StoryLine], str]
    alerted: str
    more: str


def _plain_story(s: StoryLine) -> str:
    return f"- {s.title} — {', '.join(src.name for src in s.sources)} {s.url}"


def _markdown_story(s: StoryLine) -> str:
    # The story's own link is on its title: its outlet is named, not linked again.
    srcs = ", ".join(x.name if x.url == s.url else f"[{x.name}]({x.url})" for x in s.sources)
    return f"- [{s.title}]({s.url}) — {srcs}"


PLAIN = DigestStyle(
    title=str,
    subtitle=str,
    label=lambda t: f"{t}:",
    story=_plain_story,
    alerted=" [alerted]",
    more="  … and {} more",
)
MARKDOWN = DigestStyle(
    title=lambda t: f"# {t}",
    subtitle=lambda t: f"*{t}*",
    label=lambda t: f"**{t}:**",
    story=_markdown_story,
    alerted=" *(alerted)*",
    more="- … and {} more",
)


def render_digest_text(d: Digest, style: DigestStyle = PLAIN) -> str:
    """A digest as text: the window, new facts, then each section's stories (``PLAIN`` or ``MARKDOWN``)."""
    lines = [
        style.title(d.title),
        style.subtitle(
            f"{local_window(d.window_start, d.window_end, d.zone)} · "
            f"{d.story_count} stories from {d.article_count} articles"
        ),
    ]
    if d.note:
        lines.append(d.note)
    if d.new_facts:
        lines.append(style.label("New facts") + " " + ", ".join(f.title for f in d.new_facts))
    for section in d.sections:
        lines += ["", f"## {section.title}"]
        for s in section.stories:
            head, sep, tail = style.story(s).partition(" — ")
            lines.append(f"{head}{style.alerted if s.alerted else ''}{sep}{tail}")
        if section.more:
            lines.append(style.more.format(section.more))
    return "\n".join(lines)


class ConsoleSink:
    """Prints each delivery. It cannot read back what it printed, so after a crash between printing and
    the outbox commit a console message may print again; chat sinks reconcile and do not."""

    platform: Platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, delivery: Delivery) -> SendResult:
        out = self.stream or sys.stdout
        out.write(render_text(delivery.payload) + "\n\n")
        out.flush()
        return SendResult("sent", message_id=delivery.key)

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None
