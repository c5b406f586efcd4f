"""The fact catalog: ``facts.toml`` read, checked and turned into ``Fact`` values."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bot.matching.query import QueryError, parse_query
from bot.models import Fact

FACT_QUERY_MAX_CHARS = 8000  # catalog queries are written by operators and cover three languages
PRIORITIES = ("alert", "digest")
REQUIRED = ("id", "title", "statement", "priority", "query")


class CatalogError(ValueError):
    """A catalog that cannot be used. ``problems`` holds one line per problem:
    ``<file>: <fact id or key>: <what is wrong and what to do>``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_catalog(path: Path) -> tuple[Fact, ...]:
    """Read ``path`` (``[[fact]]`` tables) into facts, in file order. Raises ``CatalogError``."""
    name = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        problem = f"{name}: (file): cannot be read ({err.strerror}); check the facts_file setting"
        raise CatalogError([problem]) from None
    except UnicodeDecodeError:
        raise CatalogError([f"{name}: (file): is not UTF-8 text; save it as UTF-8"]) from None
    except tomllib.TOMLDecodeError as err:
        raise CatalogError([f"{name}: (file): is not valid TOML ({err}); fix the syntax"]) from None
    entries = data.get("fact")
    if not isinstance(entries, list) or not entries:
        raise CatalogError([f"{name}: fact: no [[fact]] tables found; add at least one fact"])
    problems: list[str] = []
    facts: list[Fact] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        fact = _check(name, n, entry, seen, problems)
        if fact is not None:
            facts.append(fact)
    if problems:
        raise CatalogError(problems)
    return tuple(facts)


def _check(name: str, n: int, entry: Any, seen: set[str], problems: list[str]) -> Fact | None:
    if not isinstance(entry, dict):
        problems.append(f"{name}: fact #{n}: is not a table; write it as [[fact]] with key = value lines")
        return None
    raw_id = entry.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id else f"fact #{n}"
    before = len(problems)
    for key in REQUIRED:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f'{name}: {label}: missing or empty {key!r}; add {key} = "..."')
    for key in entry:
        if key not in REQUIRED:
            problems.append(f"{name}: {label}: unknown key {key!r}; the keys are {', '.join(REQUIRED)}")
    if len(problems) > before:
        return None
    fact_id = entry["id"].strip()
    if fact_id in seen:
        problems.append(f"{name}: {fact_id}: duplicate id; every fact needs its own id")
        return None
    seen.add(fact_id)
    priority = entry["priority"].strip()
    if priority not in PRIORITIES:
        problems.append(f'{name}: {fact_id}: priority {priority!r} is not allowed; use "alert" or "digest"')
        return None
    query = entry["query"]
    try:
        parse_query(query, max_chars=FACT_QUERY_MAX_CHARS)
    except QueryError as err:
        problems.append(f"{name}: {fact_id}: query: {err}")
        return None
    return Fact(
        id=fact_id,
        title=entry["title"].strip(),
        statement=entry["statement"].strip(),
        priority=priority,
        query=query,
    )
