"""The Slack sink: posts outbox deliveries with ``chat.postMessage`` and reads them back to reconcile.

Every message carries ``metadata`` naming its delivery key and part number, so after a crash between
Slack accepting a message and the outbox recording it, ``find_sent`` can tell from the channel's recent
history what is already there. A long digest is several messages ("parts"): a delivery counts as sent
only when every part is found, and a resend posts only the parts that are missing, so a reader never
sees a part twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.crashpoints import crashpoint
from bot.models import Delivery, Digest, Platform, SendResult
from bot.slack.blocks import RenderLimits, SlackMessage, render_payload

log = logging.getLogger(__name__)

EVENT_TYPE = "pactwatch_delivery"

# The channel refuses us: pause the subscription until someone runs `resume`.
CHANNEL_GONE = frozenset({"channel_not_found", "not_in_channel", "is_archived", "restricted_action"})
# The token is unusable (uninstalled, revoked): keep the delivery and retry later, do not drop it.
AUTH_BROKEN = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"}
)
# Slack's side is having trouble: retry.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
AUTH_RETRY_SECONDS = 600.0
_REMEMBERED_MAX = 10_000

GONE_HINTS = {
    "channel_not_found": "the channel was deleted or the app cannot see it",
    "not_in_channel": "the app is not a member of this private channel; invite it",
    "is_archived": "the channel is archived",
    "restricted_action": "posting in this channel is restricted for the app",
}


def delivery_metadata(key: str, part: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key, "part": part}}


class SlackSink:
    """``Sink`` for Slack. ``pace_seconds`` is the least time between two posts to one channel."""

    platform: Platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        limits: RenderLimits,
        pace_seconds: float = 1.0,
        find_sent_limit: int = 200,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.limits = limits
        self.pace_seconds = pace_seconds
        self.find_sent_limit = find_sent_limit
        self.monotonic = monotonic
        self.sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_post: dict[str, float] = {}
        # Parts this process posted (or found in history) for deliveries not yet settled as sent:
        # key -> {part: ts}. Lets a retried multi-part send skip what is already in the channel.
        self._posted: OrderedDict[str, dict[int, str]] = OrderedDict()

    # --- Sink ------------------------------------------------------------------------------------

    def render(self, delivery: Delivery) -> list[SlackMessage]:
        return render_payload(delivery.payload, self.limits, mention=delivery.mention_role)

    async def send(self, delivery: Delivery) -> SendResult:
        messages = self.render(delivery)
        posted = self._posted.get(delivery.key)
        if posted is None:
            posted = {}
            if delivery.attempts > 0:
                # A resend that find_sent did not see (it normally runs just before): ask Slack.
                try:
                    posted = await self._parts_in_history(delivery)
                except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                    return _failure(exc, "reading history before a resend")
        for part, message in enumerate(messages):
            if part in posted:
                continue
            result = await self._post(delivery.channel, message, delivery_metadata(delivery.key, part))
            if result.status != "sent":
                if result.status != "retry":
                    self._posted.pop(delivery.key, None)
                return result
            assert result.message_id is not None
            posted = {**posted, part: result.message_id}
            self._remember(delivery.key, posted)
        self._posted.pop(delivery.key, None)
        if isinstance(delivery.payload, Digest) and delivery.payload.chart_png:
            await self.upload_png(
                delivery.channel,
                delivery.payload.chart_png,
                filename="pactwatch-trend.png",
                title=f"{delivery.payload.title}: stories per fact per day",
            )
        return SendResult("sent", message_id=posted.get(0))

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The ts of the delivery's first message when every part is already in the channel; None when
        some part is missing (``send`` then posts only the missing parts)."""
        expected = len(self.render(delivery))
        found = {**await self._parts_in_history(delivery), **self._posted.get(delivery.key, {})}
        if len(found) >= expected and all(p in found for p in range(expected)):
            self._posted.pop(delivery.key, None)
            return found[0]
        self._remember(delivery.key, found)  # even when empty: send() then need not ask again
        return None

    # --- uploads ---------------------------------------------------------------------------------

    async def upload_png(self, channel: str, data: bytes, *, filename: str, title: str) -> str | None:
        """Upload an image to a channel (``files_upload_v2``); None when it worked, else one sentence
        saying why not. A failed chart never fails the digest it belongs to."""
        try:
            await self.client.files_upload_v2(channel=channel, file=data, filename=filename, title=title)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            log.warning("could not upload %s to Slack channel %s: %s", filename, channel, error)
            if error in CHANNEL_GONE:
                return (
                    f"Slack would not take the chart in this channel ({error}); "
                    "invite the app here and try again."
                )
            return f"Slack would not take the chart ({error}); try again later."
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not upload %s to Slack channel %s: %s", filename, channel, exc)
            return "Slack could not be reached to upload the chart; try again later."
        return None

    # --- internals -------------------------------------------------------------------------------

    def _remember(self, key: str, parts: dict[int, str]) -> None:
        self._posted[key] = parts
        self._posted.move_to_end(key)
        while len(self._posted) > _REMEMBERED_MAX:
            self._posted.popitem(last=False)

    async def _parts_in_history(self, delivery: Delivery) -> dict[int, str]:
        """Parts of this delivery among the channel's recent messages: {part: ts}. Empty when the app
        cannot read the channel (then nothing can be confirmed, and the delivery is posted)."""
        try:
            resp = await self.client.conversations_history(
                channel=delivery.channel, limit=self.find_sent_limit, include_all_metadata=True
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in CHANNEL_GONE or error == "missing_scope":
                log.info("cannot read Slack channel %s to reconcile (%s)", delivery.channel, error)
                return {}
            raise
        crashpoint("slack.read_back")
        found: dict[int, str] = {}
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") != EVENT_TYPE or payload.get("key") != delivery.key:
                continue
            part = payload.get("part", 0)
            if isinstance(part, int) and part not in found and isinstance(msg.get("ts"), str):
                found[part] = msg["ts"]
        return found

    async def _post(self, channel: str, message: SlackMessage, metadata: dict[str, Any]) -> SendResult:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last_post.get(channel, float("-inf")) + self.pace_seconds - self.monotonic()
            if wait > 0:
                await self.sleep(wait)
            try:
                resp = await self.client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=list(message.blocks),
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                    link_names=False,
                    parse="none",
                )
            except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                return _failure(exc, f"posting to {channel}")
            finally:
                self._last_post[channel] = self.monotonic()
        crashpoint("slack.accepted")
        ts = resp.get("ts")
        return SendResult("sent", message_id=str(ts) if ts else None)


def _failure(exc: Exception, what: str) -> SendResult:
    """A Web API failure as a ``SendResult``. ``SlackApiError`` text never holds the token."""
    if not isinstance(exc, SlackApiError):
        # Connection reset, timeout: Slack may or may not have the message. Retry; the resend
        # reconciles first (attempts > 0), so a message that did arrive is not posted again.
        return SendResult("retry", reason=f"{what}: {type(exc).__name__}: {exc}"[:500])
    status = exc.response.status_code
    error = str(exc.response.get("error", "") or f"http_{status}")
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(exc.response.headers)
        return SendResult("retry", retry_after=retry_after, reason=f"{what}: rate limited by Slack")
    if error in CHANNEL_GONE:
        hint = GONE_HINTS.get(error, "the channel refused the app")
        return SendResult("channel_gone", reason=f"Slack says {error}: {hint}; fix it, then run resume")
    if error in AUTH_BROKEN:
        log.error("Slack refused the bot token (%s); check SLACK_BOT_TOKEN and the app's installation", error)
        return SendResult("retry", retry_after=AUTH_RETRY_SECONDS, reason=f"{what}: Slack says {error}")
    if error in TRANSIENT or status >= 500:
        return SendResult("retry", reason=f"{what}: Slack says {error}")
    return SendResult("rejected", reason=f"{what}: Slack says {error}")


def _retry_after(headers: Any) -> float | None:
    try:
        for k, v in dict(headers or {}).items():
            if str(k).lower() == "retry-after":
                value = v[0] if isinstance(v, list | tuple) else v
                return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
    return None
