"""Slash commands the way Discord invokes them: interaction payloads fed to a logged-in discord.py
client (against the local fake Discord), answered through the shared command layer."""

from __future__ import annotations

import asyncio
import itertools
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.discord import DiscordAdapter, make_adapter
from bot.settings import Settings
from tests.commands.command_support import seed_article
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher
from tests.discord.conftest import TOKEN
from tests.discord.discord_support import APP_ID, FakeDiscord

GUILD = "111"
CHANNEL = "100"
MANAGE_GUILD = str(1 << 5)
SEND_MESSAGES = str(1 << 11)
EPHEMERAL = 1 << 6
_ids = itertools.count(5000)


def user(uid: str = "42") -> dict[str, Any]:
    return {"id": uid, "username": f"user{uid}", "discriminator": "0", "avatar": None, "global_name": None}


def interaction(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    sub: str | None = None,
    perms: str = MANAGE_GUILD,
    dm: bool = False,
    kind: int = 2,
) -> dict[str, Any]:
    opts = options or []
    if sub is not None:
        opts = [{"type": 1, "name": sub, "options": opts}]
    data: dict[str, Any] = {"id": "8000", "name": name, "type": 1, "options": opts}
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "type": kind,
        "token": f"itoken{next(_ids)}",
        "version": 1,
        "data": data,
        "locale": "en-US",
        "app_permissions": "2147483647",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 10_000_000,
    }
    if dm:
        payload.update(channel_id="9", channel={"id": "9", "type": 1}, user=user(), context=1)
    else:
        payload.update(
            guild_id=GUILD,
            guild_locale="en-US",
            channel_id=CHANNEL,
            channel={
                "id": CHANNEL,
                "type": 0,
                "guild_id": GUILD,
                "name": "news",
                "position": 0,
                "permissions": perms,
            },
            member={
                "user": user(),
                "roles": [],
                "joined_at": "2025-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": perms,
            },
            context=0,
        )
    return payload


def opt(name: str, value: Any, type_: int = 3, focused: bool = False) -> dict[str, Any]:
    o = {"type": type_, "name": name, "value": value}
    if focused:
        o["focused"] = True
    return o


class Live:
    def __init__(self, adapter: DiscordAdapter, srv: FakeDiscord, svc: Services) -> None:
        self.adapter = adapter
        self.srv = srv
        self.svc = svc

    async def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver an interaction as the gateway would; the first callback Discord received for it."""
        assert self.adapter.client is not None
        self.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await self.srv.wait_for(lambda: payload["id"] in self.srv.callbacks)
        return self.srv.callbacks[payload["id"]][0]


@pytest.fixture
async def live(
    discord_settings: Callable[..., Settings], fake_discord: FakeDiscord, clock: FakeClock
) -> AsyncIterator[Live]:
    settings = discord_settings()
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=True
    ) as svc:
        [adapter] = [a for a in svc.adapters if isinstance(a, DiscordAdapter)]
        assert adapter.client is not None
        await adapter.client.login(TOKEN)  # what start() does before connecting the gateway
        yield Live(adapter, fake_discord, svc)


def embed(cb: dict[str, Any]) -> dict[str, Any]:
    assert cb["type"] == 4
    e: dict[str, Any] = cb["data"]["embeds"][0]
    return e


def ephemeral(cb: dict[str, Any]) -> bool:
    return bool(cb["data"].get("flags", 0) & EPHEMERAL)


async def test_login_syncs_the_tree_once(live: Live, fake_discord: FakeDiscord) -> None:
    assert len(fake_discord.syncs) == 1
    scope, commands = fake_discord.syncs[0]
    assert scope == "global"
    assert {c["name"] for c in commands} >= {"watch", "feeds", "subscribe", "facts", "why", "status"}
    # A second start with the same tree does not sync again (the hash is in the database).
    assert await live.adapter.sync_commands() is False
    assert len(fake_discord.syncs) == 1


async def test_dev_guild_sync(
    discord_settings: Callable[..., Settings], fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    async with build_services(
        discord_settings(discord_dev_guild=int(GUILD)),
        clock=clock,
        facts=TEST_FACTS,
        matcher_factory=KeywordMatcher,
        live=True,
    ) as svc:
        adapter = svc.adapters[0]
        assert isinstance(adapter, DiscordAdapter) and adapter.client is not None
        await adapter.client.login(TOKEN)
    assert [scope for scope, _ in fake_discord.syncs] == [GUILD]


async def test_watch_add_success_and_bad_query(live: Live) -> None:
    cb = await live.invoke(interaction("watch", [opt("query", "kursk"), opt("label", "front")], sub="add"))
    assert ephemeral(cb) and embed(cb)["title"] == "Watch added"
    assert cb["data"]["allowed_mentions"] == {"parse": []}
    [w] = await live.svc.store.list_watches()
    assert (w.query, w.label, w.tenant, w.channel) == ("kursk", "front", f"discord:{GUILD}", CHANNEL)

    from bot.matching.query import QueryError, parse_query

    with pytest.raises(QueryError) as exc:
        parse_query('"unclosed')
    bad = await live.invoke(interaction("watch", [opt("query", '"unclosed')], sub="add"))
    assert ephemeral(bad) and embed(bad)["title"] == "Query not understood"
    assert embed(bad)["description"].replace("\\", "") == str(exc.value)


async def test_unknown_id_missing_permission_and_dm(live: Live) -> None:
    unknown = await live.invoke(interaction("watch", [opt("watch_id", "77")], sub="remove"))
    assert embed(unknown)["title"] == "Unknown watch" and "#77" in embed(unknown)["description"]

    denied = await live.invoke(interaction("subscribe", [opt("alerts", "all")], perms=SEND_MESSAGES))
    assert ephemeral(denied) and embed(denied)["title"] == "Missing permission"
    assert await live.svc.store.list_subscriptions() == []

    in_dm = await live.invoke(interaction("settings", dm=True))
    assert embed(in_dm)["title"] == "Use this in a server channel"

    facts_dm = await live.invoke(interaction("facts", dm=True))  # reading the catalog works anywhere
    assert embed(facts_dm)["title"].startswith("Key facts")


async def test_subscribe_and_settings(live: Live) -> None:
    cb = await live.invoke(
        interaction(
            "subscribe",
            [
                opt("alerts", "all"),
                opt("digest", "weekdays 08:00"),
                opt("timezone", "Asia/Seoul"),
                opt("facts", "troops_kursk"),
            ],
        )
    )
    assert embed(cb)["title"] == "Channel subscribed"
    sub = await live.svc.store.get_subscription("discord", CHANNEL)
    assert sub is not None and sub.digest_cron == "0 8 * * 1-5" and sub.facts == ("troops_kursk",)
    bad = await live.invoke(interaction("subscribe", [opt("timezone", "Mars/Base")]))
    assert embed(bad)["title"] == "Check the arguments" and "time zone" in embed(bad)["description"]
    shown = await live.invoke(interaction("settings", perms=SEND_MESSAGES))
    fields = {f["name"]: f["value"] for f in embed(shown)["fields"]}
    assert fields["Alerts"] == "all"


async def test_public_reads_fact_and_why(live: Live) -> None:
    aid = await seed_article(
        live.svc, title="Kursk troops @everyone", url="https://n.example/k", facts=("troops_kursk",)
    )
    cb = await live.invoke(interaction("fact", [opt("fact_id", "troops_kursk")], perms=SEND_MESSAGES))
    assert not ephemeral(cb)
    e = embed(cb)
    assert e["title"] == "Troops in Kursk" and "(https://n.example/k)" in e["description"]
    assert "@everyone" not in e["description"]
    why = await live.invoke(interaction("why", [opt("article", str(aid))], perms=SEND_MESSAGES))
    assert "Fact: Troops in Kursk" in embed(why)["description"]
    unknown = await live.invoke(interaction("fact", [opt("fact_id", "nope")], perms=SEND_MESSAGES))
    assert embed(unknown)["title"] == "Unknown fact" and ephemeral(unknown)


async def test_autocomplete(live: Live) -> None:
    cb = await live.invoke(interaction("fact", [opt("fact_id", "kur", focused=True)], kind=4))
    assert cb["type"] == 8
    assert cb["data"]["choices"] == [{"name": "troops_kursk — Troops in Kursk", "value": "troops_kursk"}]
    await live.invoke(interaction("watch", [opt("query", "treaty")], sub="add"))
    w = await live.invoke(interaction("watch", [opt("watch_id", "", focused=True)], sub="remove", kind=4))
    assert [c["name"] for c in w["data"]["choices"]] == [
        f"#{(await live.svc.store.list_watches())[0].id} treaty"
    ]


async def test_trend_attaches_the_chart(live: Live, fake_discord: FakeDiscord) -> None:
    cb = await live.invoke(interaction("trend", [opt("days", 30, type_=4)], perms=SEND_MESSAGES))
    assert embed(cb)["image"]["url"] == "attachment://pactwatch-trend-30d.png"
    [(_, png)] = [f for f in fake_discord.files if f[0] == "pactwatch-trend-30d.png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_slow_commands_defer_then_follow_up(
    discord_settings: Callable[..., Settings], fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    async with build_services(
        discord_settings(discord_defer_after_seconds=0.0),
        clock=clock,
        facts=TEST_FACTS,
        matcher_factory=KeywordMatcher,
        live=True,
    ) as svc:
        adapter = svc.adapters[0]
        assert isinstance(adapter, DiscordAdapter) and adapter.client is not None
        await adapter.client.login(TOKEN)
        lv = Live(adapter, fake_discord, svc)
        cb = await lv.invoke(interaction("watch", [opt("query", "kursk")], sub="test", perms=SEND_MESSAGES))
        assert cb["type"] == 5 and cb["data"]["flags"] & EPHEMERAL
        await fake_discord.wait_for(lambda: len(fake_discord.followups) == 1)
        assert fake_discord.followups[0]["embeds"][0]["title"].startswith("0 stored articles")


async def test_leaving_a_server_deletes_its_configuration(live: Live) -> None:
    await live.invoke(interaction("watch", [opt("query", "kursk")], sub="add"))
    await live.invoke(interaction("subscribe", [opt("alerts", "all")]))
    assert live.adapter.client is not None
    live.adapter.client.dispatch("guild_remove", types.SimpleNamespace(id=int(GUILD)))
    await poll_until(lambda: live.svc.store.list_watches(), lambda rows: rows == [])
    assert await live.svc.store.list_subscriptions() == []


async def poll_until(
    read: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], deadline_seconds: float = 10.0
) -> None:
    deadline = asyncio.get_running_loop().time() + deadline_seconds
    while not ok(await read()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_poll_once_adapter_has_no_client(services: Services) -> None:
    adapter = make_adapter(services, live=False)
    assert adapter.client is None and adapter.tree is None
    await adapter.start()  # nothing to connect
    await adapter.close()
