"""``pactwatch digest`` output: the console text, markdown, or one JSON document."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.delivery.console import local_window, render_digest_text
from bot.models import PAYLOAD_ADAPTER, Digest

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    m = _SPAN.match(text)
    if not m or int(m.group(1)) == 0:
        raise ValueError(
            f"--since {text!r} is not a duration; write a number and a unit, like 90m, 24h or 7d"
        )
    return timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})


def render_markdown(d: Digest) -> str:
    lines = [
        f"# {d.title}",
        f"*{local_window(d.window_start, d.window_end, d.zone)} · "
        f"{d.story_count} stories from {d.article_count} articles*",
    ]
    if d.note:
        lines.append(d.note)
    if d.new_facts:
        lines.append("**New facts:** " + ", ".join(f.title for f in d.new_facts))
    for section in d.sections:
        lines += ["", f"## {section.title}"]
        for s in section.stories:
            mark = " *(alerted)*" if s.alerted else ""
            # The story's own link is on its title: its outlet is named, not linked again.
            srcs = ", ".join(x.name if x.url == s.url else f"[{x.name}]({x.url})" for x in s.sources)
            lines.append(f"- [{s.title}]({s.url}){mark} — {srcs}")
        if section.more:
            lines.append(f"- … and {section.more} more")
    return "\n".join(lines)


def render(d: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(json.loads(PAYLOAD_ADAPTER.dump_json(d)), ensure_ascii=False, indent=2)
    if fmt == "markdown":
        return render_markdown(d)
    return render_digest_text(d)
