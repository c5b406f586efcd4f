"""Fixtures for the command-layer tests: real services (store, matcher cache) from the composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import Services, build_services
from bot.commands import Caller, Commands
from bot.settings import Settings
from tests.commands.command_support import TENANT_A
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher


@pytest.fixture
async def svc(make_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[Services]:
    # Generous command rate limits: the rate-limit test sets its own; elsewhere a limited reply would
    # make assertions about errors pass for the wrong reason.
    settings = make_settings(command_user_burst=1000, command_channel_burst=1000)
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, chat=False
    ) as services:
        yield services


class Ticks:
    """A monotonic clock for the rate limiter that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def commands(svc: Services, ticks: Ticks) -> Commands:
    return Commands(svc, monotonic=ticks)


@pytest.fixture
def admin() -> Caller:
    return Caller(
        platform="discord", tenant=TENANT_A, channel="100", user_id="1", user_name="ann", can_manage=True
    )


@pytest.fixture
def member() -> Caller:
    return Caller(platform="discord", tenant=TENANT_A, channel="100", user_id="2", user_name="bob")


@pytest.fixture
def dm() -> Caller:
    return Caller(platform="discord", tenant="", channel="dm1", user_id="1", can_manage=True, in_dm=True)
