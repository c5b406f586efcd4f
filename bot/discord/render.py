"""Discord rendering: replies and outbox payloads as message JSON, split so every Discord limit holds.

Pure functions, no I/O. Every text that came from a feed or a user is escaped (markdown and mentions)
here; the sink additionally sends ``allowed_mentions: {"parse": []}`` so nothing can ping by accident.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import discord.utils

from bot.commands.model import Reply, ReplyItem
from bot.invisible import strip_invisible
from bot.models import Alert, Digest, Evidence, Label, SourceLink, StoryLine, Summary

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBEDS_PER_MESSAGE = 10
EMBED_CHARS_PER_MESSAGE = 6000
NONCE_MAX = 25

# How much of one story a digest line shows; long headlines are cut so a section keeps many stories.
STORY_TITLE_MAX = 300
STORY_SOURCES_MAX = 5
URL_MAX = 1000  # longer links are shown as text-only titles rather than eating a description

COLOR_ALERT = 0xC0392B
COLOR_DIGEST = 0x2E86C1
COLOR_REPLY = 0x5865F2
COLOR_ERROR = 0xE74C3C


Embed = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class MessagePart:
    """One Discord message of a delivery: its JSON body (without nonce) and an optional file."""

    content: str
    embeds: tuple[Embed, ...]
    file: tuple[str, bytes] | None = None


# --- escaping --------------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Feed or user text, safe in Discord markdown: no formatting, links or mentions of its own, and no
    invisible characters that would make it read differently."""
    text = discord.utils.escape_markdown(strip_invisible(text), ignore_links=False)
    text = discord.utils.escape_mentions(text)
    # A bare "<" could still open a channel/emoji/timestamp tag; a masked link needs "[..](..)".
    return text.replace("<", "\\<")


def safe_url(url: str) -> str | None:
    """A URL usable inside ``[text](url)``: http(s) only, parentheses and spaces percent-encoded."""
    if not url.lower().startswith(("http://", "https://")) or len(url) > URL_MAX:
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def link(text: str, url: str | None) -> str:
    target = safe_url(url) if url else None
    label = esc(text)
    return f"[{label}]({target})" if target else label


def timestamp(at: datetime, style: str = "R") -> str:
    """A Discord timestamp tag: each reader sees it in their own time zone."""
    return f"<t:{int(at.timestamp())}:{style}>"


def evidence_text(ev: Evidence, limit: int = 600) -> str:
    """The evidence snippet, escaped, with its highlights in bold."""
    out: list[str] = []
    pos = 0
    for start, end in sorted(ev.highlights):
        if start < pos or end > len(ev.snippet):
            continue
        out.append(esc(ev.snippet[pos:start]))
        out.append("**" + esc(ev.snippet[start:end]) + "**")
        pos = end
    out.append(esc(ev.snippet[pos:]))
    text = "".join(out)
    return text if len(text) <= limit else esc(clip(ev.snippet, limit // 2))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def nonce_for(key: str, part: int = 0) -> str:
    """A Discord nonce (≤ 25 characters) derived from a delivery key and a message part index."""
    return hashlib.blake2b(f"{key}#{part}".encode(), digest_size=12).hexdigest()


def marker_for(key: str, part: int, parts: int) -> str:
    """The delivery marker in each message's footer: how ``find_sent`` recognises it later."""
    return f"ref {nonce_for(key, part)} · {part + 1}/{parts}"


# --- packing ---------------------------------------------------------------------------------------


def embed_chars(e: Embed) -> int:
    n = len(e.get("title", "")) + len(e.get("description", ""))
    n += len(e.get("footer", {}).get("text", "")) + len(e.get("author", {}).get("name", ""))
    n += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", ()))
    return n


def split_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Join lines into chunks of at most ``limit`` characters; a line longer than that is cut."""
    chunks: list[str] = []
    cur = ""
    for line in lines:
        line = clip(line, limit)
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate) > limit:
            chunks.append(cur)
            cur = line
        else:
            cur = candidate
    if cur:
        chunks.append(cur)
    return chunks


def section_embeds(title: str, lines: Sequence[str], *, color: int, url: str | None = None) -> list[Embed]:
    """One embed per ``EMBED_DESCRIPTION_MAX`` of lines; continuation embeds say so in their title."""
    head = clip(title, EMBED_TITLE_MAX)
    cont = clip(title, EMBED_TITLE_MAX - len(" (continued)")) + " (continued)"
    chunks = split_lines(lines, EMBED_DESCRIPTION_MAX) or [""]
    out: list[Embed] = []
    for i, chunk in enumerate(chunks):
        e: Embed = {"title": head if i == 0 else cont, "color": color}
        if chunk:
            e["description"] = chunk
        if url and i == 0:
            e["url"] = url
        out.append(e)
    return out


def pack(embeds: Sequence[Embed], *, footer_room: int) -> list[list[Embed]]:
    """Group embeds into messages of ≤ 10 embeds and ≤ 6000 characters, leaving ``footer_room``
    characters per message for the marker footer added afterwards."""
    budget = EMBED_CHARS_PER_MESSAGE - footer_room
    messages: list[list[Embed]] = []
    cur: list[Embed] = []
    used = 0
    for e in embeds:
        n = embed_chars(e)
        assert n <= budget, "an embed larger than a message: section_embeds must split first"
        if cur and (len(cur) >= EMBEDS_PER_MESSAGE or used + n > budget):
            messages.append(cur)
            cur, used = [], 0
        cur.append(e)
        used += n
    if cur:
        messages.append(cur)
    return messages


def finish(
    groups: list[list[Embed]], *, key: str, content: str = "", file: tuple[str, bytes] | None = None
) -> list[MessagePart]:
    """Add the marker footer to the last embed of each message and build the parts."""
    parts: list[MessagePart] = []
    total = len(groups)
    for i, group in enumerate(groups):
        group = [dict(e) for e in group]
        last = group[-1]
        old = last.get("footer", {}).get("text", "")
        marker = marker_for(key, i, total)
        text = f"{old} · {marker}" if old else f"pactwatch · {marker}"
        last["footer"] = {"text": clip(text, FOOTER_MAX)}
        parts.append(
            MessagePart(
                content=content if i == 0 else "",
                embeds=tuple(group),
                file=file if i == total - 1 else None,
            )
        )
    return parts


FOOTER_ROOM = 120  # " · pactwatch · ref <24 hex> · 999/999" with margin


# --- outbox payloads -------------------------------------------------------------------------------


def labels(items: Sequence[Label]) -> str:
    return clip(", ".join(esc(x.title) for x in items), FIELD_VALUE_MAX)


def sources_text(sources: Sequence[SourceLink]) -> str:
    shown = [link(s.name or "source", s.url) for s in sources[:STORY_SOURCES_MAX]]
    more = len(sources) - len(shown)
    return ", ".join(shown) + (f" +{more} more" if more > 0 else "")


def story_line(s: StoryLine) -> str:
    title = link(clip(s.title, STORY_TITLE_MAX), s.url)
    mark = " *(alerted)*" if s.alerted else ""
    names = ", ".join(esc(x.name) for x in s.sources[:STORY_SOURCES_MAX])
    more = len(s.sources) - STORY_SOURCES_MAX
    if more > 0:
        names += f" +{more}"
    return f"• {title}{mark} — {names} {timestamp(s.published, 'R')}"


def render_alert(a: Alert, *, key: str, mention_role: str | None) -> list[MessagePart]:
    embed: Embed = {
        "title": clip(esc(a.title), EMBED_TITLE_MAX),
        "color": COLOR_ALERT,
        "fields": [
            {"name": "Source", "value": clip(esc(a.source) or "unknown", FIELD_VALUE_MAX), "inline": True},
            {
                "name": "Published",
                "value": f"{timestamp(a.published, 'f')} ({timestamp(a.published, 'R')})",
                "inline": True,
            },
        ],
    }
    url = safe_url(a.url)
    if url:
        embed["url"] = url
    if a.evidence is not None:
        embed["description"] = clip(evidence_text(a.evidence), EMBED_DESCRIPTION_MAX)
    if a.facts:
        embed["fields"].append({"name": "Facts", "value": labels(a.facts), "inline": False})
    if a.watches:
        embed["fields"].append({"name": "Watches", "value": labels(a.watches), "inline": False})
    if a.other_sources:
        embed["fields"].append(
            {
                "name": "Also reported by",
                "value": clip(sources_text(a.other_sources), FIELD_VALUE_MAX),
                "inline": False,
            }
        )
    content = f"<@&{mention_role}>" if mention_role else ""
    return finish([[embed]], key=key, content=content)


def render_digest(d: Digest, *, key: str) -> list[MessagePart]:
    head_lines = [
        f"{timestamp(d.window_start, 'f')} – {timestamp(d.window_end, 'f')}",
        f"{d.story_count} stories from {d.article_count} articles",
    ]
    if d.note:
        head_lines.append(esc(d.note))
    if d.new_facts:
        head_lines.append("New facts: " + ", ".join(esc(f.title) for f in d.new_facts))
    embeds = section_embeds(esc(d.title), head_lines, color=COLOR_DIGEST)
    for section in d.sections:
        lines = [story_line(s) for s in section.stories]
        if section.more:
            lines.append(f"… and {section.more} more")
        embeds += section_embeds(esc(section.title), lines, color=COLOR_DIGEST)
    groups = pack(embeds, footer_room=FOOTER_ROOM)
    file = ("trend.png", d.chart_png) if d.chart_png else None
    if file:
        groups[-1][-1] = {**groups[-1][-1], "image": {"url": "attachment://trend.png"}}
    return finish(groups, key=key, file=file)


def render_summary(s: Summary, *, key: str) -> list[MessagePart]:
    embeds = section_embeds(esc(s.title), [story_line(x) for x in s.lines], color=COLOR_DIGEST)
    return finish(pack(embeds, footer_room=FOOTER_ROOM), key=key)


def render_payload(
    payload: Alert | Digest | Summary, *, key: str, mention_role: str | None
) -> list[MessagePart]:
    if isinstance(payload, Alert):
        return render_alert(payload, key=key, mention_role=mention_role)
    if isinstance(payload, Digest):
        return render_digest(payload, key=key)
    return render_summary(payload, key=key)


# --- command replies -------------------------------------------------------------------------------


def item_lines(it: ReplyItem) -> list[str]:
    ref = f"`{it.ref.replace('`', '')}` " if it.ref else ""
    title = link(clip(it.title, STORY_TITLE_MAX), it.url)
    head = f"{ref}{title}" if it.url else f"{ref}**{title}**"
    detail = [esc(x) for x in it.lines if x]
    if it.time is not None:
        detail.append(timestamp(it.time, "R"))
    lines = [head]
    if detail:
        lines.append("  " + " · ".join(detail))
    if it.evidence is not None:
        lines.append("> " + evidence_text(it.evidence, 500).replace("\n", " "))
    return ["\n".join(lines)]


def render_reply(reply: Reply) -> tuple[list[Embed], tuple[str, bytes] | None]:
    """A command reply as embeds for one interaction response (≤ 10 embeds, ≤ 6000 characters);
    whatever does not fit is summarised as "N more not shown"."""
    color = COLOR_ERROR if reply.error else COLOR_REPLY
    lines = [esc(b) for b in reply.body]
    for it in reply.items:
        lines += item_lines(it)
    embeds = section_embeds(esc(reply.title), lines, color=color)
    fields = [
        {
            "name": clip(esc(f.name), FIELD_NAME_MAX),
            "value": clip(esc(f.value) or "—", FIELD_VALUE_MAX),
            "inline": f.inline,
        }
        for f in reply.fields[:EMBED_FIELDS_MAX]
    ]
    if fields:
        embeds[0]["fields"] = fields
    footer = clip(esc(reply.footer), FOOTER_MAX) if reply.footer else ""
    # Keep what fits in one message; say how much did not.
    budget = EMBED_CHARS_PER_MESSAGE - len(footer) - 60
    kept: list[Embed] = []
    used = 0
    for e in embeds:
        n = embed_chars(e)
        if len(kept) >= EMBEDS_PER_MESSAGE or used + n > budget:
            break
        kept.append(e)
        used += n
    dropped = len(embeds) - len(kept)
    if dropped:
        footer = clip(f"{dropped} more part(s) not shown · {footer}".rstrip(" ·"), FOOTER_MAX)
    if footer:
        kept[-1]["footer"] = {"text": footer}
    file = None
    if reply.attachment is not None:
        file = (reply.attachment.filename, reply.attachment.data)
        kept[0]["image"] = {"url": f"attachment://{reply.attachment.filename}"}
    return kept, file
