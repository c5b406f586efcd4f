"""Block Kit rendering: alerts, digests, summaries and command replies as Slack messages.

Pure functions of the core's payloads (no I/O). Every piece of feed or user text is escaped for mrkdwn
(``&``, ``<``, ``>``), so a headline can never become ``<!channel>``, a user mention or a link; only
links this module builds itself are links. Long digests are split into several messages so that each
one holds Slack's limits.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.commands.model import Reply, ReplyItem
from bot.invisible import strip_invisible
from bot.models import Alert, Digest, Evidence, Payload, StoryLine, Summary

Block = dict[str, Any]

# Slack's own limits (docs.slack.dev/reference/block-kit): fixed by the platform, not tunable, so they
# are constants here rather than settings.
MAX_BLOCKS = 50  # blocks per message
SECTION_TEXT_MAX = 3000  # characters in a section's (or context element's) text
SECTION_FIELDS_MAX = 10  # fields per section
FIELD_TEXT_MAX = 2000  # characters per section field
HEADER_TEXT_MAX = 150  # characters in a header block
CONTEXT_ELEMENTS_MAX = 10  # elements per context block

ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_URL_ESCAPES = {"&": "&amp;", "<": "%3C", ">": "%3E", "|": "%7C", " ": "%20", "\n": "", "\r": "", "\t": ""}
_SAFE_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class RenderLimits:
    """The tunable parts of rendering (settings ``slack_title_max_chars`` and friends)."""

    title_max: int = 300
    sources_per_story: int = 5
    fallback_max: int = 3000


@dataclasses.dataclass(frozen=True, slots=True)
class SlackMessage:
    """One ``chat.postMessage``: the plain-text fallback and the blocks."""

    text: str
    blocks: tuple[Block, ...]


# ---------------------------------------------------------------------------------------------------
# Text pieces
# ---------------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Feed or user text made inert for mrkdwn: ``&``, ``<`` and ``>`` as entities, invisible characters
    removed."""
    return "".join(_ESCAPES.get(ch, ch) for ch in strip_invisible(text))


def clip(text: str, max_len: int) -> str:
    """``text`` escaped and cut to at most ``max_len`` characters, never inside an entity; a cut text
    ends with an ellipsis."""
    text = strip_invisible(text)
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    pieces = [_ESCAPES.get(ch, ch) for ch in text]
    if sum(map(len, pieces)) <= max_len:
        return "".join(pieces)
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > max_len - len(ELLIPSIS):
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def plain_clip(text: str, max_len: int) -> str:
    """Plain text (header blocks, no markup) cut to ``max_len`` characters."""
    text = " ".join(strip_invisible(text).split())
    return text if len(text) <= max_len else text[: max_len - 1].rstrip() + ELLIPSIS


def safe_url(url: str) -> str | None:
    """The URL in the form a mrkdwn link needs, or None when it is not an http(s) URL."""
    url = url.strip()
    if not _SAFE_URL.match(url):
        return None
    return "".join(_URL_ESCAPES.get(ch, ch) for ch in url)


def link(url: str | None, label: str, max_label: int) -> str:
    """``<url|label>`` with the label escaped; just the escaped label when the URL is not http(s)."""
    shown = clip(label.strip() or (url or ""), max_label)
    target = safe_url(url) if url else None
    if target is None:
        return shown
    # A label must not itself close or split the link.
    return f"<{target}|{shown.replace('|', '¦')}>"


def date_token(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A ``<!date^…>`` token: each reader sees the time in their own time zone; the fallback is UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def evidence_text(ev: Evidence, max_len: int) -> str:
    """The evidence snippet, escaped, with its highlights in bold, within ``max_len`` characters."""
    budget = max(0, max_len - 2)
    snippet = ev.snippet
    pieces: list[str] = []
    pos = 0
    for start, end in sorted(ev.highlights):
        if start < pos or start >= len(snippet):
            continue
        end = min(end, len(snippet))
        pieces.append(escape(snippet[pos:start]))
        word = snippet[start:end]
        core = word.strip().replace("*", "")
        lead = word[: len(word) - len(word.lstrip())]
        trail = word[len(word.rstrip()) :]
        pieces.append(lead + (f"*{escape(core)}*" if core else "") + trail)
        pos = end
    pieces.append(escape(snippet[pos:]))
    out = " ".join("".join(pieces).split())
    if len(out) <= budget:
        return out
    # Too long: drop the bold rather than cut inside a marker or an entity.
    return clip(snippet, budget)


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text[:SECTION_TEXT_MAX])}


def context(*texts: str) -> Block:
    elements = [_mrkdwn(t[:SECTION_TEXT_MAX]) for t in texts if t][:CONTEXT_ELEMENTS_MAX]
    return {"type": "context", "elements": elements}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain_clip(text, HEADER_TEXT_MAX)}}


def pack_lines(lines: Iterable[str], max_len: int = SECTION_TEXT_MAX) -> list[str]:
    """Join lines with newlines into as few texts as possible, each within ``max_len``. Every line
    must already fit on its own (longer ones are cut)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if len(line) > max_len:
            line = line[: max_len - 1] + ELLIPSIS
        if current and len(current) + 1 + len(line) > max_len:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def mention_text(mention: str | None) -> str | None:
    """The mention a subscription asked for: a Slack user group id (``S…``), ``here`` or ``channel``.
    Anything else mentions nobody (it was configured for another platform)."""
    if not mention:
        return None
    m = mention.strip().lstrip("@!")
    if re.fullmatch(r"S[A-Z0-9]{2,}", m):
        return f"<!subteam^{m}>"
    if m in ("here", "channel"):
        return f"<!{m}>"
    return None


# ---------------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------------


def render_alert(alert: Alert, limits: RenderLimits, *, mention: str | None = None) -> SlackMessage:
    blocks: list[Block] = []
    ping = mention_text(mention)
    title = link(alert.url, alert.title, limits.title_max)
    blocks.append(section(f"{ping} *{title}*" if ping else f"*{title}*"))
    blocks.append(
        context(
            clip(alert.source, 200),
            date_token(alert.published),
            clip(alert.lang, 16) if alert.lang and alert.lang != "und" else "",
        )
    )
    tags = [clip(f.title, 200) for f in alert.facts] + [f"watch: {clip(w.title, 200)}" for w in alert.watches]
    if tags:
        blocks.append(section(clip_joined("*Matched:* ", tags, SECTION_TEXT_MAX)))
    if alert.evidence is not None and alert.evidence.snippet:
        blocks.append(section("*Why:* " + evidence_text(alert.evidence, SECTION_TEXT_MAX - 8)))
    if alert.other_sources:
        shown = [link(s.url, s.name, 80) for s in alert.other_sources[: limits.sources_per_story]]
        extra = len(alert.other_sources) - len(shown)
        text = clip_joined("Also reported by ", shown, SECTION_TEXT_MAX - 20)
        blocks.append(context(text + (f" and {extra} more" if extra > 0 else "")))
    fallback = f"{escape(alert.title)} ({escape(alert.source)})"
    if ping:
        fallback = f"{ping} {fallback}"
    return SlackMessage(text=_cut(fallback, limits.fallback_max), blocks=tuple(blocks))


def clip_joined(prefix: str, items: Sequence[str], max_len: int, sep: str = ", ") -> str:
    """``prefix`` and as many already-escaped items as fit in ``max_len``, then "+N more"."""
    out = prefix
    for i, item in enumerate(items):
        candidate = out + (sep if i else "") + item
        if len(candidate) > max_len - 12:
            return out + f" +{len(items) - i} more"
        out = candidate
    return out


def _cut(text: str, max_len: int) -> str:
    """Cut already-escaped text without leaving a broken entity or link at the end."""
    if len(text) <= max_len:
        return text
    cut = text[: max_len - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut.rstrip() + ELLIPSIS


# ---------------------------------------------------------------------------------------------------
# Digests and summaries
# ---------------------------------------------------------------------------------------------------


def story_line(story: StoryLine, limits: RenderLimits) -> str:
    """One digest line: linked headline, sources, time; always within a section's limit."""
    shown = story.sources[: limits.sources_per_story]
    extra = len(story.sources) - len(shown)
    mark = " _(alerted)_" if story.alerted else ""
    when = date_token(story.published, "{date_short}")
    linked_sources = ", ".join(link(s.url, s.name, 80) for s in shown)
    plain_sources = ", ".join(clip(s.name, 80) for s in shown)
    more = f" +{extra} more" if extra > 0 else ""
    title_linked = link(story.url, story.title, limits.title_max)
    title_plain = clip(story.title, limits.title_max)
    # Very long URLs can push a line past the limit: fall back to fewer links, never to a cut link.
    for title, sources in (
        (title_linked, linked_sources),
        (title_linked, plain_sources),
        (title_plain, plain_sources),
    ):
        line = f"• {title}{mark} — {sources}{more} · {when}"
        if len(line) <= SECTION_TEXT_MAX:
            return line
    return clip(story.title, SECTION_TEXT_MAX - 10)


class _Parts:
    """Accumulates blocks into messages of at most ``MAX_BLOCKS`` blocks; when a digest section spills
    into a new message, its heading is repeated there."""

    def __init__(self) -> None:
        self.parts: list[list[Block]] = [[]]
        self.heading: str | None = None

    def add(self, block: Block) -> None:
        if len(self.parts[-1]) >= MAX_BLOCKS:
            self.parts.append([])
            if self.heading is not None:
                self.parts[-1].append(section(self.heading + " _(continued)_"))
        self.parts[-1].append(block)

    def start_section(self, heading: str) -> None:
        # A heading never ends a message: start the next one if only the heading would fit.
        if len(self.parts[-1]) >= MAX_BLOCKS - 1:
            self.parts.append([])
        self.heading = None
        self.add(section(heading))
        self.heading = heading


def _story_blocks(parts: _Parts, stories: Sequence[StoryLine], limits: RenderLimits) -> None:
    for text in pack_lines(story_line(s, limits) for s in stories):
        parts.add(section(text))


def _finish(parts: list[list[Block]], title: str, limits: RenderLimits) -> list[SlackMessage]:
    parts = [p for p in parts if p] or [[section(escape(title))]]
    total = len(parts)
    out = []
    for i, blocks in enumerate(parts, start=1):
        suffix = f" (part {i} of {total})" if total > 1 else ""
        out.append(SlackMessage(text=_cut(escape(title) + suffix, limits.fallback_max), blocks=tuple(blocks)))
    return out


def render_digest(digest: Digest, limits: RenderLimits) -> list[SlackMessage]:
    parts = _Parts()
    parts.add(header(digest.title))
    window = f"{date_token(digest.window_start)} – {date_token(digest.window_end)}"
    counts = f"{digest.story_count} stories from {digest.article_count} articles"
    parts.add(context(window, counts))
    if digest.note:
        parts.add(section(clip(digest.note, SECTION_TEXT_MAX)))
    if digest.new_facts:
        parts.add(section(clip_joined("*New facts:* ", [clip(f.title, 200) for f in digest.new_facts], 3000)))
    for sec in digest.sections:
        if not sec.stories and not sec.more:
            continue
        parts.add({"type": "divider"})
        parts.start_section(f"*{clip(sec.title, 500)}*")
        _story_blocks(parts, sec.stories, limits)
        if sec.more:
            parts.add(context(f"…and {sec.more} more"))
        parts.heading = None
    return _finish(parts.parts, digest.title, limits)


def render_summary(summary: Summary, limits: RenderLimits) -> list[SlackMessage]:
    parts = _Parts()
    parts.add(header(summary.title))
    _story_blocks(parts, summary.lines, limits)
    return _finish(parts.parts, summary.title, limits)


def render_payload(
    payload: Payload, limits: RenderLimits, *, mention: str | None = None
) -> list[SlackMessage]:
    """The messages one delivery becomes, in order (a long digest is several)."""
    if isinstance(payload, Alert):
        return [render_alert(payload, limits, mention=mention)]
    if isinstance(payload, Digest):
        return render_digest(payload, limits)
    if isinstance(payload, Summary):
        return render_summary(payload, limits)
    raise TypeError(f"unknown payload {type(payload).__name__}")


# ---------------------------------------------------------------------------------------------------
# Command replies
# ---------------------------------------------------------------------------------------------------


def _item_lines(item: ReplyItem, limits: RenderLimits) -> str:
    head = link(item.url, item.title, limits.title_max)
    if item.ref:
        ref = clip(item.ref, 64).replace("`", "'")
        head = f"`{ref}` {head}"
    lines = [f"• {head}" + (f" · {date_token(item.time)}" if item.time else "")]
    lines += [f"    {clip(line, 500)}" for line in item.lines]
    if item.evidence is not None and item.evidence.snippet:
        lines.append("    _why:_ " + evidence_text(item.evidence, 1000))
    text = "\n".join(lines)
    return text if len(text) <= SECTION_TEXT_MAX else _cut(text, SECTION_TEXT_MAX)


def render_reply(reply: Reply, limits: RenderLimits) -> SlackMessage:
    """A command's answer as one message (replies are short; anything past the block limit is
    summarised as "N more not shown")."""
    blocks: list[Block] = []
    title = clip(reply.title, 500)
    blocks.append(section(f":warning: *{title}*" if reply.error else f"*{title}*"))
    for text in pack_lines(clip(b, SECTION_TEXT_MAX) for b in reply.body):
        blocks.append(section(text))
    fields = [
        _mrkdwn(_cut(f"*{clip(f.name, 200)}*\n{clip(f.value, FIELD_TEXT_MAX - 220)}", FIELD_TEXT_MAX))
        for f in reply.fields
    ]
    for i in range(0, len(fields), SECTION_FIELDS_MAX):
        blocks.append({"type": "section", "fields": fields[i : i + SECTION_FIELDS_MAX]})
    for text in pack_lines(_item_lines(it, limits) for it in reply.items):
        blocks.append(section(text))
    if reply.footer:
        blocks.append(context(clip(reply.footer, SECTION_TEXT_MAX)))
    if len(blocks) > MAX_BLOCKS:
        hidden = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1], context(f"…{hidden} more blocks not shown")]
    fallback = escape(reply.title) + (f": {escape(reply.body[0])}" if reply.body else "")
    return SlackMessage(text=_cut(fallback, limits.fallback_max), blocks=tuple(blocks))
