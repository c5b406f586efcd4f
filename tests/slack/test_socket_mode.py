"""Socket Mode against a local websocket server: apps.connections.open goes to the Web API stand-in,
which hands out the local websocket URL; a slash command arrives as an envelope, is acked over the
socket and answered via its response_url. Also the adapter's configuration errors and ``poll --once``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import build_services
from bot.settings import Settings
from bot.slack import SlackConfigError
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher
from tests.slack.conftest import reply_text, slack_adapter
from tests.slack.slack_support import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, slash_form, wait_for

REPO = Path(__file__).resolve().parents[2]


async def test_socket_mode_acks_and_answers_a_slash_command(
    slack_settings: Callable[..., Settings],
    clock: FakeClock,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = slack_settings(slack_http_port=None, slack_signing_secret=None)
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=True
    ) as svc:
        adapter = slack_adapter(svc)
        await adapter.start()
        assert adapter.http_port is None
        [opened] = fake_slack.of("apps.connections.open")
        assert opened.auth == f"Bearer {APP_TOKEN}"
        await wait_for(lambda: fake_slack.ws_connections == 1, what="the websocket connection")

        await fake_slack.envelopes.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": slash_form("watch add treaty AND Kursk --alert", rid="sock1", fake=fake_slack),
            }
        )
        acks = await wait_for(
            lambda: [m for m in fake_slack.ws_received if m.get("envelope_id") == "env-1"], what="the ack"
        )
        assert len(acks) == 1
        [reply] = await wait_for(lambda: fake_slack.responses.get("sock1"), what="the reply")
        assert "Watch added" in reply_text(reply)
        [w] = await svc.store.list_watches(platform="slack", channel="C100")
        assert w.query == "treaty AND Kursk" and w.alert
    assert BOT_TOKEN not in caplog.text and APP_TOKEN not in caplog.text


async def test_poll_once_builds_the_sink_without_connecting(
    slack_settings: Callable[..., Settings], clock: FakeClock, fake_slack: FakeSlack
) -> None:
    settings = slack_settings(slack_http_port=None, slack_app_token=None)
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=False
    ) as svc:
        adapter = slack_adapter(svc)
        assert adapter.app is None and svc.sinks["slack"] is adapter.sink
    assert fake_slack.calls == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"slack_http_port": None, "slack_app_token": None}, "SLACK_APP_TOKEN"),
        ({"slack_http_port": 0, "slack_signing_secret": None}, "SLACK_SIGNING_SECRET"),
    ],
)
async def test_missing_tokens_are_one_clear_sentence(
    slack_settings: Callable[..., Settings], clock: FakeClock, overrides: dict[str, object], expected: str
) -> None:
    settings = slack_settings(**overrides)
    with pytest.raises(SlackConfigError) as err:
        async with build_services(
            settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=True
        ):
            pass
    assert expected in str(err.value)
    assert BOT_TOKEN not in str(err.value) and SIGNING_SECRET not in str(err.value)


def test_manifest_declares_the_command_scopes_events_and_socket_mode() -> None:
    text = (REPO / "config" / "slack-manifest.yml").read_text(encoding="utf-8")
    assert "command: /pactwatch" in text
    for scope in (
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "files:write",
        "channels:history",
        "groups:history",
    ):
        assert f"      - {scope} " in text or f"      - {scope}\n" in text, scope
    for event in ("app_uninstalled", "tokens_revoked"):
        assert f"      - {event}" in text
    assert "socket_mode_enabled: true" in text
    assert "should_escape: false" in text
