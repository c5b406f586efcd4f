"""Fetch feed bytes: one shared aiohttp session, conditional GET, bounded in size, time and concurrency.

``Fetcher.fetch`` never raises for network, HTTP, size, timeout or address-policy problems: it returns a
``FetchResult`` with ``status="error"`` and one sentence in ``error``. Redirects are followed here (not by
aiohttp) so every hop's URL is checked against the address policy; the connector's resolver and socket
factory check the address actually connected to (see ``netguard``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import hashlib
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import aiohttp
from aiohttp.abc import AbstractResolver

from bot.ingest import netguard
from bot.ingest.netguard import AddressPolicy, BlockedAddressError, UnsafeURLError, redact_url
from bot.settings import Settings

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FEED_HEADERS = ("content-type", "content-location", "content-language")
_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?(\d{1,12})", re.IGNORECASE)
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)

FetchStatus = Literal["ok", "not_modified", "unchanged", "error"]


@dataclasses.dataclass(frozen=True, slots=True)
class Validators:
    """What to store per feed between polls for conditional GET and change detection."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one kind of fetch may take: feeds use the ``fetch_*`` settings; article pages and robots.txt
    their own (``page_*``, ``robots_*``). ``content_types``: the media types read at all (others are
    refused from their headers, before the body is read); empty means any."""

    max_bytes: int
    total_timeout: float
    accept: str = _ACCEPT
    noun: str = "feed"  # what the error sentences call the thing fetched
    content_types: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class FetchResult:
    status: FetchStatus  # "unchanged": a 200 whose body hash equals the stored one (body not returned)
    body: bytes | None
    content_type: str | None
    headers: dict[str, str]  # the response headers feedparser uses
    validators: Validators  # what to store for the next poll
    http_status: int | None
    retry_after: float | None  # seconds the server asked us to wait, capped by the settings
    error: str | None  # one sentence, for the feed's error record and for `feeds add`
    final_url: str  # the URL after redirects, userinfo removed

    @property
    def ok(self) -> bool:
        return self.status != "error"


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_retry_after(value: str | None, *, cap: float, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), clamped to [0, cap].

    Garbage gives None rather than an error: a server's advice is never a reason to fail a poll.
    """
    if not value:
        return None
    value = value.strip()
    if len(value) > 100:
        return None
    seconds: float
    if value.isdigit():
        seconds = float(int(value[:12]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        base = now if now is not None else time.time()
        try:
            seconds = when.timestamp() - base
        except (OverflowError, OSError, ValueError):
            return None
    return max(0.0, min(seconds, float(cap)))


def parse_max_age(cache_control: str | None, *, cap: float) -> float | None:
    """``max-age`` (or ``s-maxage``) from a Cache-Control header, clamped to [0, cap]; None when absent."""
    if not cache_control or len(cache_control) > 1000:
        return None
    match = _MAX_AGE.search(cache_control)
    if not match:
        return None
    return max(0.0, min(float(match.group(1)), float(cap)))


def is_local_reference(url: str) -> bool:
    """True for ``file://`` URLs and plain filesystem paths (no URL scheme)."""
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("file:") else ""
    return scheme == "file" or (scheme == "" and "://" not in url)


def _http_error_sentence(status: int) -> str:
    if status in (401, 403):
        return (
            f"The server refuses access to the feed (HTTP {status}); "
            "check the address or the feed's access settings."
        )
    if status == 404:
        return "The server says there is no feed at this address (HTTP 404); check the URL."
    if status == 410:
        return "The server says this feed is gone for good (HTTP 410); remove it or find its new address."
    if status == 429:
        return "The server is rate-limiting pactwatch (HTTP 429); it will try again later."
    if 500 <= status < 600:
        return f"The feed's server had an error (HTTP {status}); pactwatch will try again later."
    return f"The server answered HTTP {status} instead of the feed."


def _find_blocked(exc: BaseException) -> BlockedAddressError | None:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedAddressError):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "os_error", None)])
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return None


class _TooLarge(Exception):
    pass


class Fetcher:
    """Fetches feeds over one shared aiohttp session with bounded global and per-host concurrency.

    ``address_policy`` decides which IP addresses may be connected to (default: the global internet,
    or anything when ``settings.allow_private_networks``); ``resolver`` replaces DNS (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        address_policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._settings = settings
        self._policy = address_policy or netguard.address_policy(settings.allow_private_networks)
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._global = asyncio.Semaphore(settings.fetch_concurrency)
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def __aenter__(self) -> Fetcher:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._settings.fetch_concurrency,
                limit_per_host=self._settings.fetch_per_host_concurrency,
                resolver=netguard.GuardedResolver(self._policy, self._resolver),
                socket_factory=netguard.guarded_socket_factory(self._policy),
                ttl_dns_cache=10,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=True,
                headers={"User-Agent": self._settings.user_agent, "Accept": _ACCEPT},
            )
        return self._session

    # --- public --------------------------------------------------------------------------------------

    def feed_limits(self) -> FetchLimits:
        s = self._settings
        return FetchLimits(max_bytes=s.fetch_max_bytes, total_timeout=s.fetch_total_timeout_seconds)

    async def fetch(
        self,
        url: str,
        validators: Validators,
        *,
        allow_local: bool = False,
        limits: FetchLimits | None = None,
    ) -> FetchResult:
        """Fetch ``url`` with conditional GET. ``allow_local`` (operator feeds only) also accepts local
        paths and ``file://`` URLs. ``limits``: the feed limits unless given (pages, robots.txt). Returns
        an error result rather than raising. Feeds and pages share the per-host concurrency limit."""
        shown = redact_url(url)
        if allow_local and is_local_reference(url):
            return await asyncio.to_thread(self._read_local, url, validators)
        limits = limits or self.feed_limits()
        try:
            netguard.check_url(url, self._policy)
        except UnsafeURLError as exc:
            return self._error(shown, validators, str(exc), noun=limits.noun)
        host = (urlsplit(url).hostname or "").lower()
        async with self._global, self._host_slot(host):
            return await self._fetch_http(url, validators, limits)

    # --- internals -----------------------------------------------------------------------------------

    def _host_slot(self, host: str) -> _HostSlot:
        return _HostSlot(self, host)

    def _error(
        self,
        final_url: str,
        validators: Validators,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        noun: str = "feed",
    ) -> FetchResult:
        if noun != "feed":
            message = message.replace("The feed's", f"The {noun}'s").replace("the feed", f"the {noun}")
            message = message.replace("The feed", f"The {noun}").replace("feed", noun)
        return FetchResult(
            status="error",
            body=None,
            content_type=None,
            headers={},
            validators=validators,
            http_status=http_status,
            retry_after=retry_after,
            error=message,
            final_url=final_url,
        )

    def _retry_after(self, headers: aiohttp.typedefs.LooseHeaders) -> float | None:
        cap = float(self._settings.retry_after_max_seconds)
        get = getattr(headers, "get", None)
        if get is None:
            return None
        value = parse_retry_after(get("Retry-After"), cap=cap)
        if value is None:
            value = parse_max_age(get("Cache-Control"), cap=cap)
        return value

    async def _fetch_http(self, url: str, validators: Validators, limits: FetchLimits) -> FetchResult:
        settings = self._settings
        noun = limits.noun
        session = self._ensure_session()
        current = url
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.fetch_connect_timeout_seconds,
            sock_connect=settings.fetch_connect_timeout_seconds,
        )
        conditional: dict[str, str] = {}
        if validators.etag:
            conditional["If-None-Match"] = validators.etag
        if validators.last_modified:
            conditional["If-Modified-Since"] = validators.last_modified
        try:
            async with asyncio.timeout(limits.total_timeout):
                for _hop in range(settings.fetch_max_redirects + 1):
                    headers = {**conditional, "Accept": limits.accept}
                    async with session.get(
                        current, allow_redirects=False, headers=headers, timeout=timeout
                    ) as resp:
                        if resp.status in _REDIRECTS and "Location" in resp.headers:
                            target = urljoin(current, resp.headers["Location"])
                            try:
                                netguard.check_url(target, self._policy)
                            except UnsafeURLError as exc:
                                return self._error(
                                    redact_url(current),
                                    validators,
                                    f"The feed redirects to {redact_url(target)}, which is refused: {exc}",
                                    http_status=resp.status,
                                    noun=noun,
                                )
                            current = target
                            continue
                        return await self._read_response(resp, current, validators, limits)
                return self._error(
                    redact_url(current),
                    validators,
                    f"The feed redirects more than {settings.fetch_max_redirects} times; "
                    "use its final address.",
                )
        except TimeoutError:
            return self._error(
                redact_url(current),
                validators,
                f"The feed did not arrive within {limits.total_timeout:g} seconds.",
                noun=noun,
            )
        except _TooLarge:
            return self._error(redact_url(current), validators, self._too_large(limits.max_bytes), noun=noun)
        except aiohttp.InvalidURL:
            return self._error(
                redact_url(current), validators, "The feed address is not a valid URL.", noun=noun
            )
        except (aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError):
            return self._error(
                redact_url(current),
                validators,
                "Could not connect to the feed's server within "
                f"{settings.fetch_connect_timeout_seconds:g} seconds.",
                noun=noun,
            )
        except aiohttp.ClientConnectorDNSError as exc:
            blocked = _find_blocked(exc)
            if blocked is not None:
                return self._error(redact_url(current), validators, str(blocked))
            host = urlsplit(current).hostname or current
            message = f"The host name {host!r} could not be resolved; check the URL."
            return self._error(redact_url(current), validators, message, noun=noun)
        except (aiohttp.ClientError, OSError) as exc:
            blocked = _find_blocked(exc)
            if blocked is not None:
                return self._error(redact_url(current), validators, str(blocked))
            if isinstance(exc, aiohttp.ClientPayloadError):
                message = "The feed's response was cut off or badly compressed."
            elif isinstance(exc, aiohttp.ClientConnectorError):
                message = f"Could not connect to the feed's server ({exc.os_error.strerror or exc.os_error})."
            else:
                message = f"The feed could not be fetched ({type(exc).__name__})."
            return self._error(redact_url(current), validators, message, noun=noun)
        except Exception:
            log.exception("unexpected error fetching %s", redact_url(current))
            message = "The feed could not be fetched (internal error)."
            return self._error(redact_url(current), validators, message, noun=noun)

    def _too_large(self, limit: int | None = None) -> str:
        limit = limit or self._settings.fetch_max_bytes
        return (
            f"The feed is larger than the {limit / MiB:g} MiB limit (after decompression) and was not read."
        )

    async def _read_response(
        self, resp: aiohttp.ClientResponse, url: str, validators: Validators, limits: FetchLimits
    ) -> FetchResult:
        shown = redact_url(url)
        retry_after = self._retry_after(resp.headers)
        etag = resp.headers.get("ETag") or validators.etag
        last_modified = resp.headers.get("Last-Modified") or validators.last_modified
        if resp.status == 304:
            return FetchResult(
                status="not_modified",
                body=None,
                content_type=None,
                headers={},
                validators=Validators(etag, last_modified, validators.body_hash),
                http_status=304,
                retry_after=retry_after,
                error=None,
                final_url=shown,
            )
        if not 200 <= resp.status < 300:
            return self._error(
                shown,
                validators,
                _http_error_sentence(resp.status),
                http_status=resp.status,
                retry_after=retry_after,
                noun=limits.noun,
            )
        media = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if limits.content_types and media and media not in limits.content_types:
            return self._error(
                shown,
                validators,
                f"The {limits.noun} is {media}, not {' or '.join(limits.content_types)}; it was not read.",
                http_status=resp.status,
                noun=limits.noun,
            )
        limit = limits.max_bytes
        if resp.content_length is not None and resp.content_length > limit:
            raise _TooLarge  # even compressed, it is over the limit; do not read it
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        body = b"".join(chunks)
        digest = body_hash(body)
        headers = {name: resp.headers[name] for name in _FEED_HEADERS if name in resp.headers}
        new_validators = Validators(resp.headers.get("ETag"), resp.headers.get("Last-Modified"), digest)
        unchanged = validators.body_hash is not None and validators.body_hash == digest
        return FetchResult(
            status="unchanged" if unchanged else "ok",
            body=None if unchanged else body,
            content_type=resp.headers.get("Content-Type"),
            headers=headers,
            validators=new_validators,
            http_status=resp.status,
            retry_after=retry_after,
            error=None,
            final_url=shown,
        )

    def _read_local(self, url: str, validators: Validators) -> FetchResult:
        if "://" in url or url.startswith("file:"):
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                return self._error(url, validators, "A file:// feed must be on this machine (file:///path).")
            path = Path(url2pathname(parts.path))
        else:
            path = Path(url).expanduser()
        limit = self._settings.fetch_max_bytes
        try:
            with path.open("rb") as handle:
                body = handle.read(limit + 1)
        except FileNotFoundError:
            return self._error(url, validators, f"The feed file {str(path)!r} does not exist.")
        except IsADirectoryError:
            return self._error(url, validators, f"The feed path {str(path)!r} is a directory, not a file.")
        except OSError as exc:
            message = f"The feed file {str(path)!r} cannot be read ({exc.strerror})."
            return self._error(url, validators, message)
        if len(body) > limit:
            return self._error(url, validators, self._too_large())
        digest = body_hash(body)
        try:
            mtime = path.stat().st_mtime
            last_modified: str | None = email.utils.format_datetime(
                datetime.fromtimestamp(mtime, tz=UTC), usegmt=True
            )
        except OSError:
            last_modified = None
        unchanged = validators.body_hash == digest
        return FetchResult(
            status="unchanged" if unchanged else "ok",
            body=None if unchanged else body,
            content_type=None,
            headers={},
            validators=Validators(None, last_modified, digest),
            http_status=None,
            retry_after=None,
            error=None,
            final_url=url,
        )


class _HostSlot:
    """Per-host concurrency: a semaphore per host, dropped when no fetch for that host is running."""

    def __init__(self, fetcher: Fetcher, host: str) -> None:
        self._fetcher = fetcher
        self._host = host

    async def __aenter__(self) -> None:
        hosts = self._fetcher._hosts
        sem, users = hosts.get(self._host, (None, 0))
        if sem is None:
            sem = asyncio.Semaphore(self._fetcher._settings.fetch_per_host_concurrency)
        hosts[self._host] = (sem, users + 1)
        try:
            await sem.acquire()
        except BaseException:
            self._leave()
            raise

    def _leave(self) -> None:
        hosts = self._fetcher._hosts
        sem, users = hosts[self._host]
        if users <= 1:
            del hosts[self._host]
        else:
            hosts[self._host] = (sem, users - 1)

    async def __aexit__(self, *exc: object) -> None:
        self._fetcher._hosts[self._host][0].release()
        self._leave()
