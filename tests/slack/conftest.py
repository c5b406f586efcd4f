"""Fixtures for the Slack tests: the Slack stand-in server, and pactwatch's real services with the Slack
adapter started in HTTP mode on 127.0.0.1 (port 0), talking to the stand-in."""

from __future__ import annotations

import itertools
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Services, build_services
from bot.settings import Settings
from bot.slack import SlackAdapter
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher
from tests.slack.slack_support import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    build_app,
    sign,
    slash_form,
    wait_for,
)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    runner = web.AppRunner(build_app(fake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    fake.users.update(
        {
            "UADMIN": {"is_admin": True, "is_owner": False},
            "UOWNER": {"is_admin": False, "is_owner": True},
            "UMEMBER": {"is_admin": False, "is_owner": False},
        }
    )
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
def slack_settings(make_settings: Callable[..., Settings], fake_slack: FakeSlack) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_app_token": APP_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.api_url,
            "slack_http_port": 0,
            "slack_http_host": "127.0.0.1",
            "slack_channel_pace_seconds": 0.2,
            "command_user_burst": 1000,
            "command_channel_burst": 1000,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
async def live_svc(slack_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[Services]:
    """Services with the Slack adapter started in HTTP mode."""
    async with build_services(
        slack_settings(), clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=True
    ) as svc:
        for adapter in svc.adapters:
            await adapter.start()
        yield svc


def slack_adapter(svc: Services) -> SlackAdapter:
    for adapter in svc.adapters:
        if isinstance(adapter, SlackAdapter):
            return adapter
    raise AssertionError("the Slack adapter was not built")


class SlashClient:
    """Sends signed ``/pactwatch`` requests to the adapter's HTTP endpoint, as Slack would."""

    def __init__(self, fake: FakeSlack, adapter: SlackAdapter) -> None:
        self.fake = fake
        self.url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        self._ids = itertools.count(1)

    async def post(
        self, body: bytes, *, content_type: str, timestamp: int | None = None, signature: str | None = None
    ) -> tuple[int, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else sign(body, ts),
        }
        async with aiohttp.ClientSession() as s, s.post(self.url, data=body, headers=headers) as r:
            return r.status, await r.text()

    async def send(self, text: str, **kw: Any) -> tuple[str, int]:
        rid = f"r{next(self._ids)}"
        body = urllib.parse.urlencode(slash_form(text, rid=rid, fake=self.fake, **kw)).encode()
        status, _ = await self.post(body, content_type="application/x-www-form-urlencoded")
        return rid, status

    async def run(self, text: str, **kw: Any) -> dict[str, Any]:
        """Send a command; the reply posted to its response_url."""
        rid, status = await self.send(text, **kw)
        assert status == 200
        [reply] = await wait_for(lambda: self.fake.responses.get(rid), what=f"a reply to {text!r}")
        return dict(reply)


@pytest.fixture
def slash(live_svc: Services, fake_slack: FakeSlack) -> SlashClient:
    return SlashClient(fake_slack, slack_adapter(live_svc))


def reply_text(reply: dict[str, Any]) -> str:
    """Every text of a response payload, joined (for assertions on what the user reads)."""
    parts = [str(reply.get("text", ""))]
    for block in reply.get("blocks", []):
        if "text" in block:
            parts.append(str(block["text"].get("text", "")))
        for f in block.get("fields", []):
            parts.append(str(f.get("text", "")))
        for e in block.get("elements", []):
            parts.append(str(e.get("text", "")))
    return "\n".join(parts)
