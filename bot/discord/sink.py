"""The Discord sink: posts outbox deliveries over Discord's REST API (no gateway needed).

- Each message carries ``nonce`` (derived from the delivery key and part index) with
  ``enforce_nonce: true``, so a retried POST within Discord's nonce window returns the first message
  instead of posting again; beyond that window ``find_sent`` reads the channel back and looks for the
  delivery's marker in the embed footer.
- ``allowed_mentions`` always has an empty ``parse``; a subscription's mention role is the only
  mention ever allowed.
- 429s honour ``Retry-After`` / ``X-RateLimit-Reset-After`` (waiting inline when short, else handing
  the wait back to the outbox); each channel is paced; 403/404 pause the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.crashpoints import crashpoint
from bot.discord.render import MessagePart, marker_for, nonce_for, render_payload
from bot.models import Delivery, Platform, SendResult

log = logging.getLogger(__name__)

USER_AGENT = "DiscordBot (https://github.com/pactwatch/pactwatch, 0.1)"
AUTH_FAILURE_RETRY_SECONDS = 600.0  # a refused token is an operator problem: do not hammer Discord


def retry_after_of(headers: Mapping[str, str], body: Any) -> float:
    """Seconds Discord asks us to wait: ``Retry-After``, else ``X-RateLimit-Reset-After``, else the
    body's ``retry_after``; 1 s when it gave none."""
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        raw = headers.get(name)
        if raw:
            with contextlib.suppress(ValueError):
                return max(0.0, float(raw))
    if isinstance(body, dict):
        with contextlib.suppress(TypeError, ValueError):
            return max(0.0, float(body.get("retry_after", 1.0)))
    return 1.0


def _error_text(status: int, body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        code = body.get("code")
        return f"Discord answered {status} ({body['message']}{f', code {code}' if code else ''})"
    return f"Discord answered {status}"


class DiscordSink:
    """``Sink`` for Discord. One per process; the aiohttp session is opened on first use."""

    platform: Platform = "discord"

    def __init__(
        self,
        *,
        token: str,
        api_base: str,
        pace_seconds: float = 1.0,
        max_inline_wait: float = 5.0,
        request_timeout: float = 15.0,
        find_limit: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._token = token
        self.api_base = api_base.rstrip("/")
        self.pace_seconds = pace_seconds
        self.max_inline_wait = max_inline_wait
        self.request_timeout = request_timeout
        self.find_limit = find_limit
        self._monotonic = monotonic
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._next_at: dict[str, float] = {}  # channel -> earliest monotonic time of the next post
        self._global_next_at = 0.0
        self._locks: dict[str, asyncio.Lock] = {}
        self._sent_parts: dict[str, dict[int, str]] = {}  # delivery key -> part -> message id

    def __repr__(self) -> str:  # never the token
        return f"DiscordSink(api_base={self.api_base!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bot {self._token}", "User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # --- Sink ----------------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> SendResult:
        parts = render_payload(delivery.payload, key=delivery.key, mention_role=delivery.mention_role)
        done = self._sent_parts.setdefault(delivery.key, {})
        lock = self._locks.setdefault(delivery.channel, asyncio.Lock())
        async with lock:
            for i, part in enumerate(parts):
                if i in done:
                    continue  # posted by an earlier attempt (or found by find_sent)
                result = await self._post(
                    delivery.channel, part, nonce_for(delivery.key, i), delivery.mention_role
                )
                if result.status != "sent":
                    if result.status in ("rejected", "channel_gone"):
                        self._sent_parts.pop(delivery.key, None)
                    return result
                done[i] = result.message_id or ""
        self._sent_parts.pop(delivery.key, None)
        return SendResult("sent", message_id=done.get(len(parts) - 1) or None)

    async def find_sent(self, delivery: Delivery) -> str | None:
        """Read the channel's recent messages back; the last part's id when every part of this
        delivery is there. Parts found are remembered, so ``send`` posts only the missing ones."""
        parts = render_payload(delivery.payload, key=delivery.key, mention_role=delivery.mention_role)
        total = len(parts)
        nonces = {nonce_for(delivery.key, i): i for i in range(total)}
        markers = {marker_for(delivery.key, i, total): i for i in range(total)}
        url = f"{self.api_base}/channels/{delivery.channel}/messages"
        async with self._http().get(url, params={"limit": str(self.find_limit)}) as resp:
            if resp.status in (403, 404):
                return None  # the send that follows reports the channel as gone
            if resp.status >= 400:
                raise RuntimeError(
                    f"{_error_text(resp.status, await _json(resp))} while reading the channel back"
                )
            messages = await resp.json()
        crashpoint("discord.read_back")
        found = self._sent_parts.setdefault(delivery.key, {})
        for m in messages if isinstance(messages, list) else []:
            part = nonces.get(str(m.get("nonce") or ""))
            if part is None:
                for e in m.get("embeds") or ():
                    text = (e.get("footer") or {}).get("text", "")
                    part = next((i for mk, i in markers.items() if text.endswith(mk)), None)
                    if part is not None:
                        break
            if part is not None:
                found.setdefault(part, str(m.get("id", "")))
        if len(found) == total:
            return found.get(total - 1) or None
        return None

    # --- one message ---------------------------------------------------------------------------

    async def _post(
        self, channel: str, part: MessagePart, nonce: str, mention_role: str | None
    ) -> SendResult:
        allowed: dict[str, Any] = {"parse": []}
        if mention_role and part.content:
            allowed["roles"] = [mention_role]
        body: dict[str, Any] = {
            "content": part.content,
            "embeds": list(part.embeds),
            "allowed_mentions": allowed,
            "nonce": nonce,
            "enforce_nonce": True,
        }
        url = f"{self.api_base}/channels/{channel}/messages"
        last_wait = 1.0
        for _ in range(3):
            wait = max(self._next_at.get(channel, 0.0), self._global_next_at) - self._monotonic()
            if wait > self.max_inline_wait:
                return SendResult("retry", retry_after=wait, reason=f"pacing channel {channel}")
            if wait > 0:
                await self._sleep(wait)
            try:
                status, headers, data = await self._request(url, body, part.file)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return SendResult("retry", reason=f"network error talking to Discord: {type(exc).__name__}")
            now = self._monotonic()
            if status in (200, 201):
                crashpoint("discord.accepted")
                self._pace(channel, headers, now)
                return SendResult("sent", message_id=str(data.get("id")) if isinstance(data, dict) else None)
            if status == 429:
                last_wait = retry_after_of(headers, data)
                is_global = headers.get("X-RateLimit-Global", "").lower() == "true" or (
                    isinstance(data, dict) and bool(data.get("global"))
                )
                if is_global:
                    self._global_next_at = now + last_wait
                else:
                    self._next_at[channel] = now + last_wait
                log.info("Discord rate limit on channel %s: waiting %.2fs", channel, last_wait)
                if last_wait > self.max_inline_wait:
                    return SendResult("retry", retry_after=last_wait, reason="rate limited by Discord (429)")
                continue
            reason = _error_text(status, data)
            if status in (403, 404):
                return SendResult(
                    "channel_gone", reason=f"{reason}: the bot cannot post in channel {channel}"
                )
            if status == 401:
                log.error("Discord refused the bot token (401); check DISCORD_TOKEN")
                return SendResult("retry", retry_after=AUTH_FAILURE_RETRY_SECONDS, reason=reason)
            if 400 <= status < 500:
                return SendResult("rejected", reason=reason)
            return SendResult("retry", reason=reason)
        return SendResult("retry", retry_after=last_wait, reason="rate limited by Discord (429)")

    def _pace(self, channel: str, headers: Mapping[str, str], now: float) -> None:
        nxt = now + self.pace_seconds
        if headers.get("X-RateLimit-Remaining") == "0":
            with contextlib.suppress(ValueError):
                nxt = max(nxt, now + float(headers.get("X-RateLimit-Reset-After", "0")))
        self._next_at[channel] = nxt

    async def _request(
        self, url: str, body: dict[str, Any], file: tuple[str, bytes] | None
    ) -> tuple[int, Mapping[str, str], Any]:
        http = self._http()
        if file is None:
            ctx = http.post(url, json=body)
        else:
            name, data = file
            form = aiohttp.FormData()
            body = {**body, "attachments": [{"id": 0, "filename": name}]}
            form.add_field("payload_json", json.dumps(body), content_type="application/json")
            form.add_field("files[0]", data, filename=name, content_type="image/png")
            ctx = http.post(url, data=form)
        async with ctx as resp:
            return resp.status, dict(resp.headers), await _json(resp)


async def _json(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return None
