"""The Bolt app in HTTP mode on 127.0.0.1, driven by real signed slash-command requests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bot.app import Services
from bot.models import FeedSpec
from bot.slack.adapter import bot_token_revoked
from tests.commands.command_support import seed_article
from tests.slack.conftest import SlashClient, reply_text
from tests.slack.slack_support import TENANT, FakeSlack, sign, wait_for


def _is_error(reply: dict[str, Any]) -> bool:
    return ":warning:" in reply["blocks"][0]["text"]["text"]


# --- transport: signature, timestamp, ack ------------------------------------------------------------


async def test_bad_signature_is_refused_with_401(slash: SlashClient, fake_slack: FakeSlack) -> None:
    body = b"command=%2Fpactwatch&text=status&team_id=T0TEAM&user_id=UADMIN&channel_id=C100"
    ts = int(time.time())
    status, _ = await slash.post(
        body,
        content_type="application/x-www-form-urlencoded",
        timestamp=ts,
        signature=sign(body, ts, secret="not-the-secret"),
    )
    assert status == 401
    assert fake_slack.responses == {}


async def test_stale_timestamp_is_refused_with_401(slash: SlashClient, fake_slack: FakeSlack) -> None:
    body = b"command=%2Fpactwatch&text=status&team_id=T0TEAM&user_id=UADMIN&channel_id=C100"
    old = int(time.time()) - 10 * 60
    # Correctly signed, but ten minutes old: a replayed request.
    status, _ = await slash.post(
        body, content_type="application/x-www-form-urlencoded", timestamp=old, signature=sign(body, old)
    )
    assert status == 401


async def test_command_is_acked_with_an_empty_200_and_answered_via_response_url(
    slash: SlashClient, fake_slack: FakeSlack
) -> None:
    rid, status = await slash.send("help")
    assert status == 200
    [reply] = await wait_for(lambda: fake_slack.responses.get(rid), what="help reply")
    text = reply_text(reply)
    for sub in ("watch add", "watch test", "subscribe", "digest now", "feeds remove", "trend", "why"):
        assert f"/pactwatch {sub}" in text
    assert reply["response_type"] == "ephemeral"
    assert reply["unfurl_links"] is False


async def test_unknown_subcommand_and_empty_group_explain_what_to_type(slash: SlashClient) -> None:
    reply = await slash.run("frobnicate")
    assert _is_error(reply) and "/pactwatch help" in reply_text(reply)
    reply = await slash.run("watch")
    assert _is_error(reply) and "add, list, remove, test" in reply_text(reply)
    reply = await slash.run("watch list --bogus")
    assert _is_error(reply) and "--bogus" in reply_text(reply)


# --- permissions -------------------------------------------------------------------------------------


async def test_non_admin_cannot_change_settings(slash: SlashClient, live_svc: Services) -> None:
    reply = await slash.run("subscribe --alerts all", user="UMEMBER")
    assert _is_error(reply)
    assert "workspace admin" in reply_text(reply)
    assert reply["response_type"] == "ephemeral"
    assert await live_svc.store.get_subscription("slack", "C100") is None
    # Reading stays open to everyone.
    reply = await slash.run("facts", user="UMEMBER")
    assert not _is_error(reply)


async def test_owner_and_slack_admins_setting_may_change_settings(
    slash: SlashClient, live_svc: Services, fake_slack: FakeSlack
) -> None:
    reply = await slash.run("subscribe --alerts all", user="UOWNER")
    assert not _is_error(reply), reply_text(reply)
    assert [c.args["user"] for c in fake_slack.of("users.info")] == ["UOWNER"]
    # A second command within the cache window does not ask Slack again.
    await slash.run("subscribe --alerts facts", user="UOWNER")
    assert len(fake_slack.of("users.info")) == 1


async def test_user_listed_in_slack_admins_is_an_admin_without_users_info(
    slack_settings: Any, clock: Any, fake_slack: FakeSlack
) -> None:
    from bot.app import build_services
    from tests.conftest import TEST_FACTS, KeywordMatcher
    from tests.slack.conftest import slack_adapter

    settings = slack_settings(slack_admins=["UMEMBER"])
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=True
    ) as svc:
        await slack_adapter(svc).start()
        client = SlashClient(fake_slack, slack_adapter(svc))
        reply = await client.run("subscribe --alerts all", user="UMEMBER")
        assert not _is_error(reply), reply_text(reply)
        assert fake_slack.of("users.info") == []


async def test_dm_refuses_channel_commands(slash: SlashClient) -> None:
    reply = await slash.run("watch list", channel="D123", channel_name="directmessage")
    assert _is_error(reply) and "channel" in reply_text(reply)


# --- watches -----------------------------------------------------------------------------------------


async def test_watch_add_keeps_the_query_verbatim_with_smart_quotes_and_flags(
    slash: SlashClient, live_svc: Services
) -> None:
    reply = await slash.run("watch add “mutual defense” NEAR/5 treaty --label pact --alert")
    assert not _is_error(reply), reply_text(reply)
    assert reply["response_type"] == "ephemeral"
    [w] = await live_svc.store.list_watches(platform="slack", channel="C100")
    assert w.query == '"mutual defense" NEAR/5 treaty'
    assert w.label == "pact" and w.alert is True and w.tenant == TENANT


async def test_watch_add_bad_query_returns_the_parser_message(slash: SlashClient, live_svc: Services) -> None:
    reply = await slash.run('watch add "unclosed AND (treaty')
    assert _is_error(reply)
    assert await live_svc.store.list_watches(platform="slack") == []
    reply = await slash.run("watch add --label x")
    assert _is_error(reply) and "needs &lt;query&gt;" in reply_text(reply)


async def test_watch_list_and_remove(slash: SlashClient, live_svc: Services) -> None:
    await slash.run("watch add treaty --label pact")
    reply = await slash.run("watch list")
    assert "pact" in reply_text(reply)
    [w] = await live_svc.store.list_watches(platform="slack")
    reply = await slash.run(f"watch remove {w.id}")
    assert not _is_error(reply)
    assert await live_svc.store.list_watches(platform="slack") == []
    reply = await slash.run("watch remove 999")
    assert _is_error(reply) and "watch list" in reply_text(reply)
    reply = await slash.run("watch remove abc")
    assert _is_error(reply)


async def test_watch_test_shows_matches_with_evidence_in_bold(slash: SlashClient, live_svc: Services) -> None:
    await seed_article(live_svc, title="Treaty ratified by Russia and North Korea", url="https://ex.org/a")
    reply = await slash.run("watch test treaty")
    assert not _is_error(reply), reply_text(reply)
    text = reply_text(reply)
    assert "<https://ex.org/a|Treaty ratified" in text
    reply = await slash.run("watch test")
    assert _is_error(reply)


# --- subscription ------------------------------------------------------------------------------------


async def test_subscribe_settings_unsubscribe(slash: SlashClient, live_svc: Services) -> None:
    reply = await slash.run('subscribe --alerts all --digest "weekdays 08:00" --timezone Asia/Seoul')
    assert not _is_error(reply), reply_text(reply)
    sub = await live_svc.store.get_subscription("slack", "C100")
    assert sub is not None and sub.alerts == "all" and sub.timezone == "Asia/Seoul" and sub.tenant == TENANT
    reply = await slash.run("settings")
    assert "Asia/Seoul" in reply_text(reply)
    reply = await slash.run("subscribe --alerts sometimes")
    assert _is_error(reply)
    reply = await slash.run("subscribe --timezone Mars/Olympus")
    assert _is_error(reply)
    reply = await slash.run("unsubscribe")
    assert not _is_error(reply)
    assert await live_svc.store.get_subscription("slack", "C100") is None
    reply = await slash.run("unsubscribe")
    assert _is_error(reply)


async def test_resume_unpauses(slash: SlashClient, live_svc: Services) -> None:
    reply = await slash.run("resume")
    assert _is_error(reply)  # nothing to resume
    await slash.run("subscribe --alerts all")
    sub = await live_svc.store.get_subscription("slack", "C100")
    assert sub is not None
    await live_svc.store.set_paused(sub.id, True, "Slack says channel_not_found")
    assert "channel_not_found" in reply_text(await slash.run("settings"))
    reply = await slash.run("resume")
    assert not _is_error(reply)
    sub = await live_svc.store.get_subscription("slack", "C100")
    assert sub is not None and not sub.paused


async def test_digest_now(slash: SlashClient) -> None:
    reply = await slash.run("digest now")
    assert _is_error(reply) and "subscribe" in reply_text(reply)
    await slash.run("subscribe --alerts all")
    reply = await slash.run("digest now")
    assert not _is_error(reply), reply_text(reply)


# --- facts, why, feeds, status, trend ------------------------------------------------------------------


async def test_facts_and_fact(slash: SlashClient, live_svc: Services) -> None:
    await seed_article(
        live_svc, title="Treaty <!channel> & more", url="https://ex.org/t", facts=("treaty_signed",)
    )
    reply = await slash.run("facts")
    assert not _is_error(reply)
    assert reply["response_type"] == "in_channel"
    assert "treaty_signed" in reply_text(reply)
    reply = await slash.run("fact treaty_signed")
    text = reply_text(reply)
    assert "Treaty &lt;!channel&gt; &amp; more" in text
    assert "<!channel>" not in text
    reply = await slash.run("fact no_such_fact")
    assert _is_error(reply)
    reply = await slash.run("fact")
    assert _is_error(reply)


async def test_why_by_link_and_id(slash: SlashClient, live_svc: Services) -> None:
    aid = await seed_article(
        live_svc, title="Treaty signed", url="https://ex.org/why", facts=("treaty_signed",)
    )
    for ref in ("<https://ex.org/why>", f"{aid}"):
        reply = await slash.run(f"why {ref}")
        assert not _is_error(reply), reply_text(reply)
        assert "Treaty signed" in reply_text(reply)
    reply = await slash.run("why https://ex.org/unknown")
    assert _is_error(reply)


async def test_feeds_list_add_remove(slash: SlashClient, live_svc: Services) -> None:
    await live_svc.store.ensure_feed(
        FeedSpec(url="https://op.example/feed", name="Operator"), live_svc.clock()
    )
    reply = await slash.run("feeds add <https://news.example/rss.xml>")
    assert not _is_error(reply), reply_text(reply)
    feeds = await live_svc.store.list_feeds(tenant=TENANT)
    [mine] = [f for f in feeds if f.tenant == TENANT]
    assert mine.url.startswith("https://news.example/rss")
    assert "news.example" in reply_text(await slash.run("feeds list"))
    reply = await slash.run("feeds add notaurl")
    assert _is_error(reply)
    [op] = [f for f in feeds if f.tenant == ""]
    reply = await slash.run(f"feeds remove {op.id}")
    assert _is_error(reply) and "operator" in reply_text(reply)
    reply = await slash.run(f"feeds remove {mine.id}")
    assert not _is_error(reply)
    reply = await slash.run("feeds remove 4242")
    assert _is_error(reply)


async def test_status(slash: SlashClient) -> None:
    reply = await slash.run("status")
    assert not _is_error(reply)
    assert "Outbox" in reply_text(reply)
    reply = await slash.run("status now")
    assert _is_error(reply) and "takes no text" in reply_text(reply)


async def test_trend_uploads_the_chart(slash: SlashClient, fake_slack: FakeSlack) -> None:
    reply = await slash.run("trend 12")
    assert _is_error(reply) and "7 or 30" in reply_text(reply)
    reply = await slash.run("trend 7")
    assert not _is_error(reply), reply_text(reply)
    assert fake_slack.uploads and fake_slack.uploads[0].startswith(b"\x89PNG")
    [done] = fake_slack.of("files.completeUploadExternal")
    assert done.args["channel_id"] == "C100"


# --- uninstall -----------------------------------------------------------------------------------------


def _event(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "token": "x",
            "team_id": "T0TEAM",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": int(time.time()),
            "event": payload,
        }
    ).encode()


async def _eventually_unsubscribed(svc: Services, channel: str) -> None:
    deadline = time.monotonic() + 10
    while await svc.store.get_subscription("slack", channel) is not None:
        assert time.monotonic() < deadline, "the workspace's data was not removed"
        await asyncio.sleep(0.02)


async def test_app_uninstalled_removes_the_workspace_data(slash: SlashClient, live_svc: Services) -> None:
    await slash.run("subscribe --alerts all")
    await slash.run("watch add treaty")
    other = await live_svc.store.upsert_subscription(
        platform="slack", channel="CX", tenant="slack:TOTHER", now=live_svc.clock()
    )
    status, _ = await slash.post(_event({"type": "app_uninstalled"}), content_type="application/json")
    assert status == 200
    await _eventually_unsubscribed(live_svc, "C100")
    assert await live_svc.store.list_watches(tenant=TENANT) == []
    assert await live_svc.store.get_subscription_by_id(other.id) is not None  # another workspace's stays


async def test_tokens_revoked_removes_data_only_when_the_bot_token_went(
    slash: SlashClient, live_svc: Services
) -> None:
    assert not bot_token_revoked({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}})
    assert not bot_token_revoked({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": []}})
    await slash.run("subscribe --alerts all")
    bot = _event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}})
    status, _ = await slash.post(bot, content_type="application/json")
    assert status == 200
    await _eventually_unsubscribed(live_svc, "C100")


async def test_unsigned_event_changes_nothing(slash: SlashClient, live_svc: Services) -> None:
    await slash.run("subscribe --alerts all")
    status, _ = await slash.post(
        _event({"type": "app_uninstalled"}), content_type="application/json", signature="v0=00"
    )
    assert status == 401
    assert await live_svc.store.get_subscription("slack", "C100") is not None
