"""``pactwatch digest`` output: the console text, markdown, or one JSON document."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.delivery.console import MARKDOWN, render_digest_text
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
    return render_digest_text(d, MARKDOWN)


def render(d: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(json.loads(PAYLOAD_ADAPTER.dump_json(d)), ensure_ascii=False, indent=2)
    if fmt == "markdown":
        return render_markdown(d)
    return render_digest_text(d)
