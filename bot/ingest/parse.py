"""Feed bytes in, normalised ``Article``s out — the pure function the parser workers run.

``parse_and_normalize`` only ever raises ``FeedError`` (one sentence); it is safe to call in-process
(tests, the corpus run) but in the bot it runs in ``ParserPool`` workers, which add the memory ceiling
and the kill on timeout.
"""

from __future__ import annotations

import calendar
import codecs
import dataclasses
import hashlib
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.ingest.normalize import canonical_url, detect_language, html_to_text, normalise_language
from bot.ingest.storysig import Shingled
from bot.models import Article, FeedSpec, MatchResult

_MAX_ID_CHARS = 512
_FUTURE_SLACK = timedelta(days=1)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_GOOGLE_NEWS_HOSTS = ("news.google.com",)


class FeedError(Exception):
    """A feed that cannot be used. ``str()`` is one sentence for the feed's error record."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (FeedError, (self.message,))


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    language: str | None  # the feed's declared language, primary subtag
    articles: tuple[Article, ...]
    warning: str | None  # feedparser's "bozo" note when the feed was malformed but usable
    # One result per article, when the worker also matched them (``ParserPool.parse(matcher=...)``).
    matches: tuple[MatchResult, ...] | None = None
    # Why the worker could not match them (the poller logs it and matches in its own process).
    match_error: str | None = None
    # Each article read for its story signature, when the worker did it (``ParserPool.parse(sign=...)``).
    shingled: tuple[Shingled | None, ...] | None = None


def _decoded_views(body: bytes) -> list[bytes]:
    """The body as bytes plus, for UTF-16/32 documents, an ASCII-compatible re-encoding to search."""
    views = [body]
    head = body[:4]
    if b"\x00" in head or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            views.append(body.decode(codec, errors="ignore").encode("utf-8", errors="ignore"))
    return views


def declares_entities(body: bytes) -> bool:
    """True when the document has an internal DTD subset that declares entities.

    feedparser's loose fallback expands such entities without limit (a 300 KB "billion laughs" feed
    becomes gigabytes), and no real news feed needs them, so these are refused before parsing.
    """
    for view in _decoded_views(body):
        doctype = _DOCTYPE_SUBSET.search(view)
        if doctype and _ENTITY_DECL.search(view, doctype.start()):
            return True
    return False


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="ignore") or bad.decode("latin-1"), error.end


codecs.register_error("pactwatch-cp1252", _cp1252_fallback)


def repair_mixed_utf8(body: bytes, content_type: str | None = None) -> bytes:
    """Re-encode a document that is meant to be UTF-8 but carries stray Windows-1252 bytes.

    feedparser falls back to a single-byte codec for the whole document when one byte is not UTF-8,
    garbling every Cyrillic and Hangul title; decoding the stray bytes alone as cp1252 keeps the rest.
    Documents declaring another encoding (in the XML declaration or the HTTP charset) are left alone.
    """
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        return body
    charset = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", content_type or "", re.I)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        return body
    declared = _XML_ENCODING.match(body[:500])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return body
    return body.decode("utf-8", errors="pactwatch-cp1252").encode("utf-8")


def _struct_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _stable_id(entry: Mapping[str, Any], title: str, link: str) -> str:
    for key in ("id", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            if len(value) <= _MAX_ID_CHARS:
                return value
            return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    digest = hashlib.sha256(f"{title}\n{link}".encode("utf-8", "replace")).hexdigest()
    return "sha256:" + digest


def _text_of(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    for key in ("language", "title_detail", "summary_detail"):
        value = entry.get(key)
        if isinstance(value, Mapping):
            value = value.get("language")
        lang = normalise_language(value)
        if lang:
            return lang
    return None


def _google_news_source(entry: Mapping[str, Any]) -> str | None:
    source = entry.get("source")
    if isinstance(source, Mapping):
        name = source.get("title")
        if isinstance(name, str) and name.strip():
            return html_to_text(name)
    return None


def strip_publisher_suffix(title: str, publisher: str) -> str:
    """``"Kim meets Putin - Reuters"`` → ``"Kim meets Putin"`` when the publisher is Reuters."""
    for dash in (" - ", " – ", " — ", " | "):
        suffix = dash + publisher
        if title.endswith(suffix) and len(title) > len(suffix):
            return title[: -len(suffix)].rstrip()
    return title


def _derived_publisher(title: str, summary: str) -> str | None:
    """The publisher of a Google News-style item that lost its ``<source>``: the title ends in
    " - Publisher" and the summary is the bare headline followed by the publisher."""
    head, sep, tail = title.rpartition(" - ")
    if sep and head and tail and len(tail) <= 80 and summary == f"{head} {tail}":
        return tail
    return None


def _summary_markup(entry: Mapping[str, Any]) -> str:
    summary = _text_of(entry, "summary")
    if summary:
        return summary
    content = entry.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("value"), str):
                return str(part["value"])
    return ""


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def _article(
    entry: Mapping[str, Any],
    *,
    feed: FeedSpec,
    feed_source: str,
    feed_lang: str | None,
    base: str | None,
    now: datetime,
    text_max_chars: int,
) -> Article:
    raw_title = _text_of(entry, "title")
    title = html_to_text(raw_title, max_chars=1000)
    link = _text_of(entry, "link")
    url = canonical_url(link, base)
    publisher = _google_news_source(entry)
    summary = html_to_text(_summary_markup(entry), max_chars=text_max_chars)
    if not publisher:
        publisher = _derived_publisher(title, summary)
    if publisher:
        title = strip_publisher_suffix(title, publisher)
    if publisher and summary.endswith(publisher):
        # Google News summaries repeat the headline and the publisher; the headline alone is enough.
        stripped = summary[: -len(publisher)].rstrip()
        summary = "" if stripped in (title, raw_title.strip()) else summary
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _struct_to_utc(entry.get(key))
        if published is not None:
            break
    published_known = published is not None and published <= now + _FUTURE_SLACK
    if not published_known:
        published = now
    assert published is not None
    lang = _entry_language(entry) or feed_lang or detect_language(f"{title} {summary}")
    return Article(
        feed_url=feed.url,
        entry_id=_stable_id(entry, title, url or link),
        url=url,
        title=title,
        summary=summary,
        published=published,
        lang=lang,
        source=publisher or feed_source,
        published_known=published_known,
    )


def parse_and_normalize(
    body: bytes,
    *,
    feed: FeedSpec,
    content_type: str | None,
    headers: Mapping[str, str],
    now: datetime,
    max_entries: int,
    text_max_chars: int,
) -> ParsedFeed:
    """Parse a feed document and normalise its first ``max_entries`` entries.

    ``headers`` are the response headers feedparser uses (content-type, content-location,
    content-language). ``now`` stands in for entries without a date. Raises only ``FeedError``.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    if not body.strip():
        raise FeedError("The feed is empty: the server returned no content.")
    if declares_entities(body):
        raise FeedError(
            "The feed declares its own XML entities (a DTD internal subset), which pactwatch refuses "
            "because they can expand to gigabytes."
        )
    response_headers = {k.lower(): v for k, v in headers.items()}
    if content_type:
        response_headers["content-type"] = content_type
    body = repair_mixed_utf8(body, response_headers.get("content-type"))
    # Without a content type feedparser flags every document as malformed; bytes from a file or a
    # server that sent none are read as XML, which honours the document's own encoding declaration.
    response_headers.setdefault("content-type", "application/xml")
    try:
        # A BytesIO, never the bytes themselves: feedparser treats a bytes argument as a file name first.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        meta = parsed.get("feed") or {}
        entries = list(parsed.get("entries") or [])[:max_entries]
        bozo_exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
        version = parsed.get("version") or ""
        feed_title = html_to_text(meta.get("title") if isinstance(meta.get("title"), str) else "", 500)
        declared_lang = normalise_language(meta.get("language"))
        if not entries and not version and bozo_exc is not None:
            raise FeedError(f"The document is not a feed that pactwatch can read ({_one_line(bozo_exc)}).")
        if not entries and not version and not feed_title:
            raise FeedError("The document is not an RSS or Atom feed.")
        base = canonical_url(feed.url) or None
        is_google = any(h in feed.url for h in _GOOGLE_NEWS_HOSTS)
        feed_source = feed.name or feed_title or (urlsplit_host(feed.url) if not is_google else "Google News")
        feed_lang = feed.language or declared_lang
        articles = []
        for entry in entries:
            if isinstance(entry, Mapping):
                articles.append(
                    _article(
                        entry,
                        feed=feed,
                        feed_source=feed_source,
                        feed_lang=normalise_language(feed_lang),
                        base=base,
                        now=now,
                        text_max_chars=text_max_chars,
                    )
                )
    except FeedError:
        raise
    except MemoryError:
        raise FeedError("The feed needed more memory than the parser is allowed; it was abandoned.") from None
    except RecursionError:
        raise FeedError("The feed is nested too deeply to parse.") from None
    except Exception as exc:  # feedparser raises arbitrary errors on hostile input
        raise FeedError(f"The feed could not be parsed ({type(exc).__name__}: {_one_line(exc)}).") from None
    warning = f"The feed is malformed but was read anyway: {_one_line(bozo_exc)}" if bozo_exc else None
    return ParsedFeed(title=feed_title, language=declared_lang, articles=tuple(articles), warning=warning)


def urlsplit_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url
