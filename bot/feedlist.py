"""The operator's feed list, ``config/feeds.toml``::

[[feeds]]
name = "Yonhap (English, North Korea)"
url = "https://en.yna.co.kr/RSS/nk.xml"
language = "en"          # optional: en, ko, ru, …
interval = 600           # optional: seconds between polls
full_text = "auto"       # optional: auto, always or never (default: the full_text setting)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from bot.models import FULL_TEXT_MODES, FeedSpec, FullText

LANG_CODES = {"en", "ko", "ru", "ja", "zh", "und"}


class FeedListError(ValueError):
    """The feed list has problems; ``problems`` holds one line each (file, key, what to do)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_feed_list(path: Path, *, min_interval: int = 60) -> list[FeedSpec]:
    """Read and validate a feed list. Raises ``FeedListError`` listing every problem found."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedListError([f"{path}: file not found; create it or set feeds_file"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedListError([f"{path}: not valid TOML ({exc}); fix the syntax"]) from None
    problems: list[str] = []
    specs: list[FeedSpec] = []
    entries = data.get("feeds", [])
    if not isinstance(entries, list):
        raise FeedListError([f"{path}: feeds: must be an array of tables ([[feeds]])"])
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: feeds[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table with name and url")
            continue
        unknown = set(entry) - {"name", "url", "language", "interval", "optional", "full_text"}
        for key in sorted(unknown):
            problems.append(f"{where}.{key}: unknown key; use name, url, language, interval, full_text")
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{where}.url: missing; give the feed's http(s) URL or a local path")
            continue
        url = url.strip()
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https", "file", "") and len(scheme) > 1:
            problems.append(
                f"{where}.url: scheme {scheme!r} is not supported; use http, https or a file path"
            )
            continue
        if url in seen:
            problems.append(f"{where}.url: {url} is listed twice; remove one")
            continue
        seen.add(url)
        name = entry.get("name", "")
        if not isinstance(name, str):
            problems.append(f"{where}.name: must be a string")
            name = ""
        lang = entry.get("language")
        if lang is not None and (not isinstance(lang, str) or lang not in LANG_CODES):
            problems.append(f"{where}.language: {lang!r} is not one of {', '.join(sorted(LANG_CODES))}")
            lang = None
        interval = entry.get("interval")
        if interval is not None and (
            not isinstance(interval, int) or isinstance(interval, bool) or interval < min_interval
        ):
            problems.append(f"{where}.interval: must be a whole number of seconds, at least {min_interval}")
            interval = None
        full_text = entry.get("full_text")
        mode: FullText | None = None
        if full_text is not None:
            if full_text in FULL_TEXT_MODES:
                mode = full_text
            else:
                problems.append(
                    f"{where}.full_text: {full_text!r} is not one of auto, always, never; "
                    "use one of them or leave it out for the full_text setting"
                )
        specs.append(FeedSpec(url=url, name=name or url, language=lang, interval=interval, full_text=mode))
    if problems:
        raise FeedListError(problems)
    return specs


def spec_for_cli(raw: str) -> FeedSpec:
    """A ``--feed`` argument: a URL, a ``file://`` URL, or a local path (made absolute). The spec has no
    name, so articles are credited to the feed's own title. Raises ``FeedListError`` for another scheme."""
    scheme = urlsplit(raw).scheme.lower()
    if scheme in ("http", "https", "file"):
        return FeedSpec(url=raw)
    if scheme and len(scheme) > 1:  # one letter would be a Windows drive
        raise FeedListError(
            [f"{raw!r} uses the {scheme}: scheme, which pactwatch cannot fetch; "
             "give an http(s) URL, a file:// URL or a local path."]
        )  # fmt: skip
    path = Path(raw).expanduser().resolve()
    return FeedSpec(url=path.as_uri())
