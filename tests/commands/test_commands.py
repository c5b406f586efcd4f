"""Every command through the shared command layer, against a real store and the composition root."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Services
from bot.commands import DM_MESSAGE, NO_PERMISSION, Caller, Commands
from bot.models import FeedSpec
from tests.commands.command_support import TENANT_A, TENANT_B, seed_article
from tests.conftest import FakeClock, FeedServer, rss


def other_tenant(c: Caller) -> Caller:
    return dataclasses.replace(c, tenant=TENANT_B, channel="200")


# --- watches ---------------------------------------------------------------------------------------


async def test_watch_add_list_remove(
    commands: Commands, admin: Caller, member: Caller, svc: Services
) -> None:
    r = await commands.watch_add(admin, "kursk", label="Kursk front", alert=False)
    assert not r.error and r.ephemeral
    assert "Watch #" in r.body[0]
    rows = await svc.store.list_watches(channel="100")
    assert [(w.query, w.label, w.tenant) for w in rows] == [("kursk", "Kursk front", TENANT_A)]

    listed = await commands.watch_list(member)  # reading is open
    assert not listed.error
    assert [i.ref for i in listed.items] == [f"#{rows[0].id}"]

    gone = await commands.watch_remove(admin, f"#{rows[0].id}")
    assert not gone.error
    assert await svc.store.list_watches() == []


async def test_watch_add_with_alert_subscribes_the_channel(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    assert await svc.store.get_subscription("discord", "100") is None
    r = await commands.watch_add(admin, "treaty", alert=True)
    assert not r.error
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None and sub.alerts == "watches" and sub.tenant == TENANT_A


async def test_malformed_query_returns_the_parsers_message(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    from bot.matching.query import QueryError, parse_query

    bad = "treaty AND (kursk"
    with pytest.raises(QueryError) as exc:
        parse_query(bad)
    r = await commands.watch_add(admin, bad)
    assert r.error and r.ephemeral
    assert r.body == (str(exc.value),)
    assert "position" in r.body[0]
    assert await svc.store.list_watches() == []
    t = await commands.watch_test(admin, bad)
    assert t.error and t.body == (str(exc.value),)


async def test_query_limits_hold(commands: Commands, admin: Caller, svc: Services) -> None:
    too_long = "a " * svc.settings.query_max_chars
    r = await commands.watch_add(admin, too_long)
    assert r.error
    nested = "(" * (svc.settings.query_max_depth + 2) + "x" + ")" * (svc.settings.query_max_depth + 2)
    r2 = await commands.watch_add(admin, nested)
    assert r2.error and "position" in r2.body[0]
    r3 = await commands.watch_add(admin, "   ")
    assert r3.error and "empty" in r3.body[0]
    r4 = await commands.watch_add(admin, "kursk", label="x" * (svc.settings.watch_label_max_chars + 1))
    assert r4.error and "label" in r4.body[0]
    r5 = await commands.watch_add(admin, "kursk\x00")
    assert r5.error and "control" in r5.body[0]
    assert await svc.store.list_watches() == []


async def test_watch_remove_unknown_and_other_tenant(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    await commands.watch_add(admin, "kursk")
    [w] = await svc.store.list_watches()
    foreign = await commands.watch_remove(other_tenant(admin), str(w.id))
    assert foreign.error and "no watch" in foreign.body[0]
    assert len(await svc.store.list_watches()) == 1
    assert (await commands.watch_list(other_tenant(admin))).items == ()
    bad = await commands.watch_remove(admin, "abc")
    assert bad.error and "not a watch id" in bad.body[0]
    missing = await commands.watch_remove(admin, "999")
    assert missing.error and "#999" in missing.body[0]


async def test_watch_quota(commands: Commands, admin: Caller, svc: Services, ticks: Any) -> None:
    svc.settings.max_watches_per_tenant = 2
    for q in ("a1", "b1"):
        assert not (await commands.watch_add(admin, q)).error
    ticks.now += 60
    r = await commands.watch_add(admin, "c1")
    assert r.error and "2 watches" in r.body[0] and r.body[0].endswith(".")


async def test_watch_test_shows_matches_with_evidence_without_saving(
    commands: Commands, member: Caller, svc: Services, clock: FakeClock
) -> None:
    await seed_article(svc, title="Kursk fighting continues", url="http://n.example/1")
    await seed_article(svc, title="Other news", url="http://n.example/2")
    await seed_article(svc, title="Kursk old story", url="http://n.example/3", age=timedelta(days=30))
    await seed_article(
        svc,
        title="Kursk in a foreign server's feed",
        url="http://n.example/4",
        feed_url="http://x/f",
        tenant=TENANT_B,
    )
    r = await commands.watch_test(member, "kursk")
    assert not r.error
    assert [i.url for i in r.items] == ["http://n.example/1"]
    assert r.items[0].evidence is not None
    assert r.title.startswith("1 stored article")
    assert await svc.store.list_watches() == []


# --- permissions, DMs, rate limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, who: c.watch_add(who, "kursk"),
        lambda c, who: c.watch_remove(who, "1"),
        lambda c, who: c.subscribe(who, alerts="all"),
        lambda c, who: c.unsubscribe(who),
        lambda c, who: c.resume(who),
        lambda c, who: c.digest_now(who),
        lambda c, who: c.feeds_add(who, "https://example.org/feed.xml"),
        lambda c, who: c.feeds_remove(who, "1"),
    ],
)
async def test_changes_need_manage_and_a_server_channel(
    commands: Commands, member: Caller, dm: Caller, call: Any, svc: Services
) -> None:
    r = await call(commands, member)
    assert r.error and r.ephemeral and r.body == (NO_PERMISSION,)
    r = await call(commands, dm)
    assert r.error and r.body == (DM_MESSAGE,)
    assert await svc.store.list_watches() == [] and await svc.store.list_subscriptions() == []


async def test_reading_works_for_members_and_channel_reads_refuse_dms(
    commands: Commands, member: Caller, dm: Caller
) -> None:
    for r in (await commands.facts(member), await commands.status(member), await commands.help(member)):
        assert not r.error
    assert not (await commands.facts(dm)).error
    assert (await commands.watch_list(dm)).body == (DM_MESSAGE,)
    assert (await commands.settings(dm)).body == (DM_MESSAGE,)


async def test_rate_limit_per_user_and_per_channel(member: Caller, svc: Services, ticks: Any) -> None:
    svc.settings.command_user_burst = 5
    svc.settings.command_channel_burst = 15
    commands = Commands(svc, monotonic=ticks)
    burst = svc.settings.command_user_burst
    for _ in range(burst):
        assert not (await commands.help(member)).error
    limited = await commands.help(member)
    assert limited.error and "too fast" in limited.body[0]
    # another user in the same channel still gets through, until the channel's bucket is empty too
    other = dataclasses.replace(member, user_id="3")
    assert not (await commands.help(other)).error
    ticks.now += 60 / svc.settings.command_user_per_minute + 0.01
    assert not (await commands.help(member)).error
    users = [dataclasses.replace(member, user_id=f"u{i}") for i in range(svc.settings.command_channel_burst)]
    results = [await commands.help(u) for u in users]
    assert any(r.error and "too fast" in r.body[0] for r in results)


# --- subscriptions ---------------------------------------------------------------------------------


async def test_subscribe_settings_unsubscribe(
    commands: Commands, admin: Caller, member: Caller, svc: Services
) -> None:
    r = await commands.subscribe(
        admin,
        facts="troops_kursk",
        alerts="all",
        digest="weekdays 08:00",
        timezone="Asia/Seoul",
        mention_role="<@&42>",
    )
    assert not r.error and r.ephemeral and r.title == "Channel subscribed"
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None
    assert (sub.facts, sub.alerts, sub.digest_cron, sub.timezone, sub.mention_role, sub.tenant) == (
        ("troops_kursk",),
        "all",
        "0 8 * * 1-5",
        "Asia/Seoul",
        "42",
        TENANT_A,
    )
    shown = await commands.settings(member)
    values = {f.name: f.value for f in shown.fields}
    assert values["Digest"] == "weekdays at 08:00 (Asia/Seoul)" and values["Alerts"] == "all"

    r2 = await commands.subscribe(admin, digest="off", facts="all", mention_role="off", quiet="22:00-07:00")
    assert r2.title == "Subscription updated"
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None and sub.digest_cron is None and sub.facts is None and sub.mention_role is None
    assert (sub.quiet_start, sub.quiet_end, sub.alerts) == ("22:00", "07:00", "all")

    assert not (await commands.unsubscribe(admin)).error
    assert await svc.store.get_subscription("discord", "100") is None
    again = await commands.unsubscribe(admin)
    assert again.error


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"alerts": "loud"}, "Alerts must be one of"),
        ({"digest": "tomorrow"}, "not a schedule"),
        ({"digest": "61 8 * * *"}, "minute field allows 0–59"),
        ({"digest": "every 5 hours"}, "must divide a day evenly"),
        ({"digest": "0 8 1 * 1"}, "not both"),
        ({"timezone": "Mars/Olympus"}, "not a time zone"),
        ({"facts": "treaty_signed, nope"}, "Unknown fact id 'nope'"),
        ({"mention_role": "everyone!"}, "mention role"),
        ({"quiet": "late"}, "quiet-hours"),
    ],
)
async def test_subscribe_bad_input(
    commands: Commands, admin: Caller, svc: Services, kwargs: dict[str, str], words: str
) -> None:
    r = await commands.subscribe(admin, **kwargs)
    assert r.error and words in r.body[0]
    assert await svc.store.get_subscription("discord", "100") is None


async def test_subscribe_every_n_hours(commands: Commands, admin: Caller, svc: Services) -> None:
    r = await commands.subscribe(admin, digest="every 6 hours", timezone="Asia/Seoul")
    assert not r.error and "every 6 hours (Asia/Seoul)" in r.text
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None and sub.digest_cron == "0 */6 * * *"


async def test_paused_subscription_shows_and_resumes(
    commands: Commands, admin: Caller, member: Caller, svc: Services
) -> None:
    await commands.subscribe(admin, alerts="all")
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None
    await svc.store.set_paused(sub.id, True, "Discord answered 403 Missing Access")
    shown = await commands.settings(member)
    assert shown.fields[0].name == "Paused" and "403" in shown.fields[0].value
    status = await commands.status(member)
    assert any("403" in line for line in status.body)
    assert not (await commands.resume(admin)).error
    sub = await svc.store.get_subscription("discord", "100")
    assert sub is not None and not sub.paused
    assert (await commands.resume(admin)).title == "Not paused"


async def test_digest_now_and_trend_use_the_digest_package(
    commands: Commands, admin: Caller, member: Caller, svc: Services, clock: FakeClock
) -> None:
    assert (await commands.digest_now(admin)).error  # not subscribed yet
    await commands.subscribe(admin, digest="08:00")
    clock.advance(minutes=1)  # the window opens when the channel subscribes
    await seed_article(
        svc,
        title="North Korea and Russia sign their defence treaty",
        url="https://news.example/signed",
        facts=("treaty_signed",),
        age=timedelta(0),
    )
    await svc.clusterer.cluster_pending()  # as the poller's story router does on arrival
    clock.advance(minutes=5)
    r = await commands.digest_now(admin)
    assert not r.error and "1 stor" in r.body[0], r.body
    sub = await svc.store.get_subscription(admin.platform, admin.channel)
    assert sub is not None
    rows = await svc.store.deliveries_for(sub.id)
    assert [row.kind for row in rows] == ["digest"] and "sign their defence treaty" in rows[0].payload
    clock.advance(minutes=5)
    assert (await commands.digest_now(admin)).title == "Nothing new"
    assert len(await svc.store.deliveries_for(sub.id)) == 1
    t = await commands.trend(member, "30")
    assert t.attachment is not None and t.attachment.data.startswith(b"\x89PNG")
    assert (await commands.trend(member, "12")).error


# --- facts, why ------------------------------------------------------------------------------------


async def test_facts_fact_and_why(commands: Commands, admin: Caller, member: Caller, svc: Services) -> None:
    await commands.watch_add(admin, "kursk", label="front")
    [w] = await svc.store.list_watches()
    aid = await seed_article(
        svc,
        title="Kursk troops confirmed",
        url="http://n.example/k",
        facts=("troops_kursk",),
        watches=(str(w.id),),
    )
    await seed_article(svc, title="Kursk again", url="http://n.example/k2", facts=("troops_kursk",))
    facts = await commands.facts(member)
    by_ref = {i.ref: i for i in facts.items}
    assert "2 matches" in by_ref["troops_kursk"].lines[1] and "0 matches" in by_ref["treaty_signed"].lines[1]

    one = await commands.fact(member, "troops_kursk")
    assert [i.url for i in one.items] == ["http://n.example/k2", "http://n.example/k"]
    assert all(i.evidence is not None for i in one.items)
    assert (await commands.fact(member, "nope")).error

    why = await commands.why(member, "http://n.example/k")
    titles = [i.title for i in why.items]
    assert titles[0] == "Kursk troops confirmed"
    assert "Fact: Troops in Kursk" in titles and f"Watch #{w.id}: front" in titles
    assert all(i.lines == ("Found in the feed's text.",) for i in why.items[1:]), "where each match was found"
    assert "Matched on the feed's text (the article page was not used)." in why.body
    by_id = await commands.why(member, str(aid))
    assert by_id.items[0].url == "http://n.example/k"
    # another server sees the fact but not this server's watch
    foreign = await commands.why(other_tenant(member), str(aid))
    assert not foreign.error and "Fact: Troops in Kursk" in [i.title for i in foreign.items]
    assert not any(t.startswith("Watch") for t in (i.title for i in foreign.items))
    assert (await commands.why(member, "http://n.example/unknown")).title == "Unknown article"
    assert (await commands.why(member, "not a link")).title == "Check the arguments"


async def test_why_and_fact_build_the_evidence_a_first_poll_did_not_keep(
    commands: Commands,
    admin: Caller,
    member: Caller,
    svc: Services,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    await commands.watch_add(admin, "kursk", label="front")
    [w] = await svc.store.list_watches()
    feed_server.feeds["/k.xml"] = rss(
        [
            {
                "title": "Kursk troops confirmed",
                "link": "http://n.example/k",
                "description": "North Korea and Russia: the troops are in Kursk.",
            }
        ]
    )
    feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/k.xml")), clock())
    report = await svc.poller.poll_feeds([feed])
    [new] = report.new
    assert new.seeded and new.match.watch_ids == (str(w.id),)
    # The first poll kept neither the fact's snippet nor the watch's (nothing alerts on a first poll) ...
    kept = {(kind, ref): ev for kind, ref, ev in await svc.store.article_matches(new.id)}
    assert kept[("watch", str(w.id))] is None
    assert kept[("fact", "troops_kursk")] is None
    # ... and why matches the article again to show them: the watch with its query, the fact with the
    # catalog.
    why = await commands.why(member, str(new.id))
    [item] = [i for i in why.items if i.title == f"Watch #{w.id}: front"]
    assert item.evidence is not None and item.evidence.terms == ("kursk",)
    assert item.evidence.snippet == "Kursk troops confirmed"
    [fact_item] = [i for i in why.items if i.title == "Fact: Troops in Kursk"]
    assert fact_item.evidence is not None and "Kursk" in fact_item.evidence.snippet
    # So does fact, which lists the fact's latest stories with their snippets.
    one = await commands.fact(member, "troops_kursk")
    [listed] = one.items
    assert listed.url == "http://n.example/k" and listed.evidence == fact_item.evidence
    # A later poll's new article keeps its watch evidence (it may alert, quoting it).
    feed_server.feeds["/k.xml"] = rss(
        [
            {"title": "Kursk again", "link": "http://n.example/k2", "description": "More from Kursk."},
            {
                "title": "Kursk troops confirmed",
                "link": "http://n.example/k",
                "description": "North Korea and Russia: the troops are in Kursk.",
            },
        ]
    )
    clock.advance(minutes=10)
    [later] = (await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])).new
    assert not later.seeded
    [(_, _, ev)] = [m for m in await svc.store.article_matches(later.id) if m[0] == "watch"]
    assert ev is not None and ev.snippet == "Kursk again"


# --- feeds -----------------------------------------------------------------------------------------


async def test_feeds_add_list_remove_and_tenancy(
    commands: Commands, admin: Caller, member: Caller, svc: Services
) -> None:
    await svc.store.ensure_feed(FeedSpec(url="https://op.example/rss"), svc.clock())
    r = await commands.feeds_add(admin, "https://news.example.org/rss.xml")
    assert not r.error, r.body
    listed = await commands.feeds_list(member)
    urls = {i.url: i for i in listed.items}
    assert set(urls) == {"https://op.example/rss", "https://news.example.org/rss.xml"}
    assert "added here" in urls["https://news.example.org/rss.xml"].lines

    foreign_list = await commands.feeds_list(other_tenant(member))
    assert {i.url for i in foreign_list.items} == {"https://op.example/rss"}
    mine = urls["https://news.example.org/rss.xml"].ref
    assert mine is not None
    foreign = await commands.feeds_remove(other_tenant(admin), mine)
    assert foreign.error and "no feed" in foreign.body[0]
    op = await commands.feeds_remove(admin, urls["https://op.example/rss"].ref or "")
    assert op.error and "operator" in op.body[0]
    dup = await commands.feeds_add(admin, "https://news.example.org/rss.xml")
    assert dup.error and "already" in dup.body[0]
    assert not (await commands.feeds_remove(admin, mine)).error
    assert {f.url for f in await svc.store.list_feeds()} == {"https://op.example/rss"}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "https://"),
        ("/etc/passwd", "https://"),
        ("ftp://example.org/feed", "https://"),
        ("http://2130706433/feed", ""),
        ("https://" + "a" * 3000 + ".org/", "characters long"),
    ],
)
async def test_feeds_add_refuses_bad_urls(
    commands: Commands, admin: Caller, svc: Services, url: str, words: str
) -> None:
    r = await commands.feeds_add(admin, url)
    assert r.error and words in r.body[0]
    assert await svc.store.list_feeds() == []


async def test_feeds_add_refuses_credentials_and_never_echoes_them(
    commands: Commands, admin: Caller, svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    r = await commands.feeds_add(admin, "https://reader:s3cr3t-pw@feeds.example.org/private.xml")
    assert r.error and r.title == "Feed refused"
    assert "user name or password" in r.body[0]
    shown = " ".join([r.title or "", *r.body, *(i.title for i in r.items)])
    assert "s3cr3t-pw" not in shown and "reader" not in shown
    assert "s3cr3t-pw" not in caplog.text
    assert await svc.store.list_feeds(enabled_only=False) == []


async def test_feeds_add_refuses_private_addresses_when_not_allowed(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    svc.settings.allow_private_networks = False
    r = await commands.feeds_add(admin, "http://127.0.0.1:8080/feed")
    assert r.error and r.title == "Feed refused"


async def test_feed_quota(commands: Commands, admin: Caller, svc: Services, ticks: Any) -> None:
    svc.settings.max_feeds_per_tenant = 1
    assert not (await commands.feeds_add(admin, "https://a.example/rss")).error
    r = await commands.feeds_add(admin, "https://b.example/rss")
    assert r.error and "1 feeds" in r.body[0]


# --- status, help, autocomplete --------------------------------------------------------------------


async def test_status_and_help(commands: Commands, member: Caller) -> None:
    st = await commands.status(member)
    names = [f.name for f in st.fields]
    assert names == ["Uptime", "Feeds", "Last poll", "Outbox"]
    h = await commands.help(member)
    assert any(i.title.startswith("/watch add") for i in h.items)
    slack = await commands.help(dataclasses.replace(member, platform="slack", tenant="slack:T1"))
    assert any(i.title.startswith("/pactwatch watch add") for i in slack.items)


async def test_autocomplete_is_scoped(commands: Commands, admin: Caller, svc: Services) -> None:
    await commands.watch_add(admin, "kursk", label="front")
    await commands.feeds_add(admin, "https://a.example/rss")
    assert [c.value for c in await commands.complete_facts(admin, "kur")] == ["troops_kursk"]
    assert len(await commands.complete_watches(admin, "")) == 1
    assert await commands.complete_watches(other_tenant(admin), "") == []
    assert len(await commands.complete_feeds(admin, "")) == 1
    assert await commands.complete_feeds(other_tenant(admin), "") == []


async def test_safely_turns_a_failure_into_a_reply(
    commands: Commands, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> Any:
        raise RuntimeError("database on fire")

    r = await commands.safely(broken(), what="test")
    assert r.error and "pactwatch's side" in r.body[0]
    assert "database on fire" in caplog.text
