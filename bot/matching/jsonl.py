"""``pactwatch match``: JSON Lines articles in, one JSON line of matches out per input line, in order."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.matching.engine import compile_matcher
from bot.matching.query import QueryError, WatchLimits
from bot.models import Article, Evidence, Fact, WatchSpec

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?\Z")
EXIT_OK = 0
EXIT_BAD_INPUT = 1  # some lines could not be read; each got an "error" line
EXIT_BAD_QUERY = 2


def parse_published(value: object) -> tuple[datetime, bool]:
    """A full or partial ISO date (``2025``, ``2024-06``, ``2024-06-19T10:00:00+09:00``) as UTC, and
    whether it was understood. Anything else gives ``(epoch, False)``; it never raises."""
    if isinstance(value, str):
        text = value.strip()
        m = _PARTIAL_DATE.match(text)
        try:
            if m:
                year, month, day = (int(g) if g else 1 for g in m.groups())
                return datetime(year, month, day, tzinfo=UTC), True
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            return datetime.fromtimestamp(0, UTC), False
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC), True
    return datetime.fromtimestamp(0, UTC), False


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _article(obj: dict[str, Any], line_no: int) -> Article:
    title, text = _text(obj.get("title")), _text(obj.get("text"))
    ident = obj.get("id")
    url = _text(obj.get("url"))
    published, known = parse_published(obj.get("published"))
    entry_id = _text(ident) if ident is not None else hashlib.sha256(f"{title}\n{url}".encode()).hexdigest()
    lang = _text(obj.get("lang")) or "und"
    return Article(
        feed_url="",
        entry_id=entry_id,
        url=url,
        title=title,
        summary=text,
        published=published,
        lang=lang,
        source="",
        published_known=known,
    )


def _evidence(ev: Evidence | None) -> dict[str, Any] | None:
    if ev is None:
        return None
    return {
        "terms": list(ev.terms),
        "snippet": ev.snippet,
        "highlights": [list(h) for h in ev.highlights],
        "field": ev.field,
    }


def run_match(
    lines: Iterable[str],
    out: TextIO,
    *,
    facts: tuple[Fact, ...],
    watch_queries: list[str],
    limits: WatchLimits = WatchLimits(),
) -> int:
    """Match each JSON line ``{id, title, text, lang?, url?, published?}`` and write one result line each;
    ``--watch`` queries must stay within ``limits``.

    Output: ``{"id", "relevant", "facts": [ids], "watches": [query texts], "evidence": {...}}`` where
    ``evidence`` holds the relevance evidence and, per fact and watch, the evidence of its hit. A line
    that is not a JSON object gets ``{"line": n, "error": "..."}``. Returns 0, or 1 when some lines
    were bad, or 2 (with one error line) when a ``--watch`` query does not parse.
    """
    watches = tuple(WatchSpec(id=q, query=q) for q in watch_queries)
    try:
        matcher = compile_matcher(facts, watches, limits=limits)
    except QueryError as err:
        out.write(json.dumps({"error": str(err), "position": err.position}, ensure_ascii=False) + "\n")
        return EXIT_BAD_QUERY
    status = EXIT_OK
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            out.write(json.dumps({"line": line_no, "error": "empty line: expected a JSON object"}) + "\n")
            status = EXIT_BAD_INPUT
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as err:
            reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
            msg = f"not valid JSON ({reason})"
            out.write(json.dumps({"line": line_no, "error": msg}) + "\n")
            status = EXIT_BAD_INPUT
            continue
        if not isinstance(obj, dict):
            msg = "expected a JSON object with id, title, text"
            out.write(json.dumps({"line": line_no, "error": msg}) + "\n")
            status = EXIT_BAD_INPUT
            continue
        article = _article(obj, line_no)
        result = matcher.match(article)
        record = {
            "id": obj.get("id"),
            "relevant": result.relevant,
            "facts": list(result.fact_ids),
            "watches": list(result.watch_ids),
            "evidence": {
                "relevance": _evidence(result.relevance),
                "facts": {h.ref: _evidence(h.evidence) for h in result.facts},
                "watches": {h.ref: _evidence(h.evidence) for h in result.watches},
            },
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return status
