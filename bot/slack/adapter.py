"""The Slack adapter: a Bolt ``AsyncApp`` in our event loop (Socket Mode or HTTP), plus the sink.

- ``live=False`` (``pactwatch poll --once``): only the Web API client and the sink; no Bolt app.
- Socket Mode (default): ``AsyncSocketModeHandler.connect_async()`` — it connects and returns; the
  blocking ``start_async()`` and ``app.start()`` (which runs its own loop) are never used.
- HTTP mode (``PACTWATCH_SLACK_HTTP_PORT``): ``AsyncApp.web_app()`` served by aiohttp's ``AppRunner`` /
  ``TCPSite`` at ``/slack/events``; Bolt checks the ``SLACK_SIGNING_SECRET`` signature and timestamp of
  every request and answers 401 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Commands
from bot.slack.blocks import RenderLimits
from bot.slack.sink import SlackSink
from bot.slack.slash import COMMAND, AdminCheck, SlashCommand

if TYPE_CHECKING:
    from bot.app import Core

from bot.settings import ConfigurationError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackConfigError(ConfigurationError):
    """The Slack settings cannot work; the message says which setting to fix."""


def tenant_of(team_id: str) -> str:
    return f"slack:{team_id}"


def bot_token_revoked(event: Mapping[str, Any]) -> bool:
    """A ``tokens_revoked`` event that took the bot's token (not only some user's)."""
    tokens = event.get("tokens") or {}
    return bool(isinstance(tokens, Mapping) and tokens.get("bot"))


class SlackAdapter:
    """``ChatAdapter`` for Slack. Build with ``make_adapter``; ``start()`` connects, ``close()`` stops."""

    def __init__(self, svc: Core, *, live: bool) -> None:
        s = svc.settings
        if s.slack_bot_token is None:
            raise SlackConfigError("SLACK_BOT_TOKEN is not set; set it to the app's xoxb- bot token.")
        if live and s.slack_http_port is None and s.slack_app_token is None:
            raise SlackConfigError(
                "Socket Mode needs SLACK_APP_TOKEN (an xapp- token with connections:write); set it, or set "
                "PACTWATCH_SLACK_HTTP_PORT to receive commands over HTTP instead."
            )
        if live and s.slack_http_port is not None and s.slack_signing_secret is None:
            raise SlackConfigError(
                "HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests; copy it from the app's "
                "Basic Information page."
            )
        self.svc = svc
        self.live = live
        self.session = aiohttp.ClientSession()
        self.client = AsyncWebClient(
            token=s.slack_bot_token.get_secret_value(),
            base_url=s.slack_api_url,
            session=self.session,
            timeout=int(max(1, s.send_timeout_seconds)),
            # Only 429s are retried here (Slack did not act on them); a connection error on a post is
            # left to the outbox, which reconciles before resending, so nothing is posted twice.
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=s.slack_rate_limit_retries)],
        )
        self.limits = RenderLimits(
            title_max=s.slack_title_max_chars,
            sources_per_story=s.slack_sources_per_story,
            fallback_max=s.slack_fallback_max_chars,
        )
        self.sink = SlackSink(
            self.client,
            limits=self.limits,
            pace_seconds=s.slack_channel_pace_seconds,
            find_sent_limit=s.slack_find_sent_limit,
        )
        self.slash = SlashCommand(
            Commands(svc),
            AdminCheck(
                self.client,
                admins=frozenset(s.slack_admins),
                cache_seconds=s.slack_admin_cache_seconds,
            ),
            self.sink,
            self.limits,
        )
        self.app: AsyncApp | None = self._build_app() if live else None
        self.http_port: int | None = None  # the bound port in HTTP mode (useful when configured as 0)
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None

    # --- Bolt ------------------------------------------------------------------------------------

    def _build_app(self) -> AsyncApp:
        s = self.svc.settings
        secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else ""
        app = AsyncApp(
            client=self.client,
            signing_secret=secret,
            # Socket Mode requests are authenticated by the websocket; HTTP ones by the signature.
            request_verification_enabled=s.slack_http_port is not None,
            process_before_response=False,
            logger=logging.getLogger("bot.slack.bolt"),
            name="pactwatch",
        )
        app.command(COMMAND)(self._on_command)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_tokens_revoked)
        return app

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        # Ack first (Slack gives 3 seconds); the work and the answer follow via response_url.
        await ack()
        reply = await self.slash.reply_to(body)
        try:
            await respond(**self.slash.render(reply))
        except Exception:
            log.exception("could not answer /pactwatch in %s", body.get("channel_id"))

    async def _on_uninstalled(self, body: Mapping[str, Any]) -> None:
        await self._forget_team(str(body.get("team_id") or ""), "the app was uninstalled")

    async def _on_tokens_revoked(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        if bot_token_revoked(event):
            await self._forget_team(str(body.get("team_id") or ""), "its bot token was revoked")

    async def _forget_team(self, team_id: str, why: str) -> None:
        if not team_id:
            log.warning("Slack said %s but named no workspace; nothing removed", why)
            return
        await self.svc.store.delete_tenant(tenant_of(team_id))
        log.info("Slack workspace %s: %s; its watches, subscriptions and feeds were removed", team_id, why)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.app is None:
            raise SlackConfigError("This Slack adapter was built for a one-off run and cannot start.")
        s = self.svc.settings
        if s.slack_http_port is not None:
            web_app = self.app.web_app(path=EVENTS_PATH, port=s.slack_http_port)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, s.slack_http_host, s.slack_http_port)
            await site.start()
            self.http_port = int(self._runner.addresses[0][1])
            log.info("Slack HTTP mode: listening on %s:%d%s", s.slack_http_host, self.http_port, EVENTS_PATH)
            return
        assert s.slack_app_token is not None
        self._socket = AsyncSocketModeHandler(
            self.app, app_token=s.slack_app_token.get_secret_value(), web_client=self.client
        )
        # connect() retries until it gets through; do not hold up the rest of `run` meanwhile.
        self._connecting = asyncio.create_task(self._socket.connect_async())  # type: ignore[no-untyped-call]
        done, _ = await asyncio.wait({self._connecting}, timeout=s.slack_connect_wait_seconds)
        if done:
            self._connecting.result()
            log.info("Slack Socket Mode: connected")
        else:
            log.warning("Slack Socket Mode: not connected yet; still trying in the background")

    async def close(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if not self.session.closed:
            await self.session.close()
