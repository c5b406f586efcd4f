"""Fixtures for the Discord tests: a local fake Discord and real services wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import discord.http
import pytest
from aiohttp import web

from bot.app import Services, build_services
from bot.settings import Settings
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher
from tests.discord.discord_support import FakeDiscord, make_app

TOKEN = "test-token-Zq9-NEVER-LOGGED"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    srv = FakeDiscord()
    runner = web.AppRunner(make_app(srv), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.base = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v10"
    try:
        yield srv
    finally:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def restore_route_base() -> Iterator[None]:
    """The live adapter points discord.py's Route.BASE at the fake; put it back afterwards."""
    old = discord.http.Route.BASE
    yield
    discord.http.Route.BASE = old


@pytest.fixture
def discord_settings(
    make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "discord_token": TOKEN,
            "discord_api_base": fake_discord.base,
            "discord_channel_pace_seconds": 0.0,
            "command_user_burst": 1000,
            "command_channel_burst": 1000,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
async def services(discord_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[Services]:
    async with build_services(
        discord_settings(), clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=False
    ) as svc:
        yield svc
