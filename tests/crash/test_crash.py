"""Exactly once across crashes: the real ``pactwatch`` process, killed with SIGKILL at every step of
poll → store → match → route → outbox → send (including after Discord or Slack accepted a message and
before the outbox recorded it), restarted each time; at the end every alert is in its channel once.

The stand-in Discord and Slack record every message and deduplicate nothing, so a resend after a crash
would show up as a second message. Each round publishes a new item on each feed, then runs
``pactwatch poll --once`` (poll every feed, route, drain the outbox over REST) with
``PACTWATCH_CRASHPOINT`` naming where it must die; ``bot/crashpoints.py`` kills it there.
"""

from __future__ import annotations

import random
import sqlite3
import string
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.crash.botproc import DISCORD_CHANNEL, FEEDS, SLACK_CHANNEL, bot_env, run_bot, write_config
from tests.crash.standins import Item, StandIns, now_utc, running_standins

SIGKILLED = -9

# Where to die, in order. "server:<platform>": the stand-in kills the bot right after recording a message
# and writing its 200 response. "name:N": the N-th time the point is reached in that run. Points that
# reconcile (read_back, reconciled) follow a kill that left an accepted message unrecorded.
KILL_PLAN = (
    "poll.fetched",
    "poll.fetched:2",
    "poll.parsed",
    "store.insert_articles.uncommitted",
    "poll.articles_inserted",  # stored, not yet matched or routed: the next poll must route them
    "store.store_matches.uncommitted",
    "poll.matched",
    "store.assign_stories.uncommitted",
    "store.story_assigned",
    "store.enqueue.uncommitted",
    "store.enqueued",
    "poll.routed",
    "poll.recorded",
    "store.claimed",
    "outbox.before_send",
    "discord.accepted",  # Discord has the message; the outbox row is still claimed
    "discord.read_back",  # the restart reads the channel back … and dies
    "outbox.reconciled",  # … found it, dies before recording it
    "slack.accepted",
    "slack.read_back",
    "outbox.sent_before_finish",
    "store.finish.uncommitted",
    "outbox.finished",
    "server:discord",
    "server:slack",
    "outbox.sent_before_finish:3",
    "discord.accepted:2",
    "slack.accepted:2",
    "poll.articles_inserted:2",
)
MAX_TRIES_PER_POINT = 3
SETTLE_RUNS = 6
WORDS = [
    "".join(random.Random(i).choices(string.ascii_lowercase, k=random.Random(i + 7).randint(5, 9)))
    for i in range(4000)
]


def publish(srv: StandIns, items: list[Item], n: int) -> None:
    """One new item on every feed; each has its own words, so no two are one story."""
    rnd = random.Random(n)
    for feed in FEEDS:
        tag = f"zq{n:03d}{feed}"
        words = " ".join(rnd.sample(WORDS, 14))
        item = Item(
            tag=tag,
            title=f"North Korea-Russia treaty signed {tag}: {words}",
            link=f"https://news.example.org/{tag}",
            published=now_utc() - timedelta(minutes=1),
        )
        srv.feeds.setdefault(feed, []).insert(0, item)
        items.append(item)


def outbox_rows(db: Path) -> list[tuple[str, str, int]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(con.execute("SELECT key, status, attempts FROM deliveries ORDER BY id"))
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(600)  # up to ~100 s on a loaded 2-core machine
async def test_every_alert_arrives_exactly_once_across_sigkills(tmp_path: Path) -> None:
    async with running_standins() as srv:
        config = write_config(tmp_path / "config", srv)
        data = tmp_path / "data"
        items: list[Item] = []
        for feed in FEEDS:
            srv.feeds[feed] = []
        round_no = 0
        killed_at: list[str] = []
        for point in KILL_PLAN:
            for _attempt in range(MAX_TRIES_PER_POINT):
                round_no += 1
                publish(srv, items, round_no)
                crash_env = None if point.startswith("server:") else point
                if point.startswith("server:"):
                    srv.kill_on_post = point.split(":", 1)[1]
                kills_before = srv.kills
                done = await run_bot(
                    ["poll", "--once"], bot_env(config, data, srv, crashpoint=crash_env), srv
                )
                srv.kill_on_post = None
                if done.returncode == SIGKILLED and (crash_env or srv.kills > kills_before):
                    killed_at.append(point)
                    break
                assert done.returncode == 0, f"pactwatch failed without being killed:\n{done.stderr[-4000:]}"
            else:
                raise AssertionError(f"the run never reached crash point {point!r}")

        # Restart without crashing until the outbox is settled (leases of the last victim expire).
        db = data / "pactwatch.db"
        expected_rows = len(items) * 2
        for _ in range(SETTLE_RUNS):
            done = await run_bot(["poll", "--once"], bot_env(config, data, srv), srv)
            assert done.returncode == 0, done.stderr[-4000:]
            rows = outbox_rows(db)
            if len(rows) == expected_rows and all(status == "sent" for _, status, _ in rows):
                break
        rows = outbox_rows(db)
        unsettled = [r for r in rows if r[1] != "sent"]
        assert not unsettled, f"deliveries left unsent: {unsettled}"
        assert len(rows) == expected_rows, f"{len(rows)} deliveries for {len(items)} items in 2 channels"

        # The channels: every item's alert once in each, nothing else.
        problems = []
        for platform, channel in (("discord", DISCORD_CHANNEL), ("slack", SLACK_CHANNEL)):
            messages = srv.of(platform, channel)
            per_item = Counter(it.tag for m in messages for it in items if it.tag in m.text)
            for it in items:
                if per_item[it.tag] != 1:
                    problems.append(f"{platform} {channel}: {it.tag} posted {per_item[it.tag]} times")
            if len(messages) != len(items):
                problems.append(f"{platform} {channel}: {len(messages)} messages for {len(items)} items")
        assert not problems, "\n".join(problems)
        assert killed_at == list(KILL_PLAN)
        assert len({p.split(":")[0] for p in killed_at}) >= 20
        # The reconciling points really reconciled: some rows were settled on a later attempt.
        assert any(attempts > 1 for _, _, attempts in rows)
