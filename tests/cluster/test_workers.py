"""Three real ``pactwatch worker`` processes on one throwaway PostgreSQL database, 120 loopback feeds that
gain items during the test, and a loopback Discord REST stand-in; one worker is SIGKILLed mid-round.

What must hold: every item published after a feed's first poll is posted exactly once (and none of the
first poll's); each feed is fetched about once per interval, not once per worker; the killed worker's
feeds are polled again within one interval; no job is left running; SIGTERM stops the others cleanly.
The numbers are printed (``pytest -s``) for the closing note."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cluster.procs import WORDS, free_port, health, start
from tests.conftest import throwaway_pg_database
from tests.crash.botproc import DISCORD_CHANNEL, FACTS_TOML, bot_env
from tests.crash.standins import Item, StandIns, now_utc, running_standins

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

FEEDS = [f"f{i:03d}" for i in range(120)]
INTERVAL = 10  # poll_interval_seconds (its smallest allowed value)
ROUNDS = 4  # items published after the first poll: one per feed per round …
ROUND_GAP = 5.0  # … every this many seconds
FEED_DELAY = 1.0  # every feed answers after this long, so each worker always has polls in flight


def publish(srv: StandIns, n: int) -> list[Item]:
    """One new item on every feed; each has its own words, so no two items are one story."""
    rnd = random.Random(n)
    out = []
    for feed in FEEDS:
        tag = f"zq{n:03d}{feed}"
        item = Item(
            tag=tag,
            title=f"North Korea-Russia treaty signed {tag}: {' '.join(rnd.sample(WORDS, 14))}",
            link=f"https://news.example.org/{tag}",
            published=now_utc() - timedelta(minutes=1),
        )
        srv.feeds.setdefault(feed, []).insert(0, item)
        out.append(item)
    return out


def write_cluster_config(root: Path, srv: StandIns) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "facts.toml").write_text(FACTS_TOML)
    (root / "feeds.toml").write_text(
        "".join(f'[[feeds]]\nname = "{n}"\nurl = "{srv.feed_url(n)}"\nlanguage = "en"\n\n' for n in FEEDS)
    )
    config = root / "pactwatch.toml"
    config.write_text(
        f"""
poll_interval_seconds = {INTERVAL}
poll_jitter_seconds = 0
poll_lease_seconds = 120
seed_first_poll = true
outbox_lease_seconds = 3.0
outbox_interval_seconds = 0.5
send_timeout_seconds = 5
discord_channel_pace_seconds = 0
alerts_per_channel_per_hour = 100000
parse_workers = 1
health_port = 0
console = "off"
worker_concurrency = 16
# All the feeds are on one host here (127.0.0.1): let a worker fetch as many at once as it runs polls.
fetch_per_host_concurrency = 16
worker_dispatch_seconds = 1
worker_heartbeat_seconds = 1
worker_stalled_seconds = 3
worker_stalled_sweep_seconds = 1
worker_job_poll_seconds = 0.5
worker_shutdown_seconds = 10

[[subscriptions]]
platform = "discord"
channel = "{DISCORD_CHANNEL}"
alerts = "all"
"""
    )
    return config


async def pg(url: str, query: str, *args: object) -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def wait_until(what: str, check: object, *, within: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def test_three_workers_share_the_feeds_and_post_each_item_once(tmp_path: Path) -> None:
    pytest.importorskip(
        "procrastinate", reason="the cluster extra is not installed: pip install 'pactwatch[cluster]'"
    )
    db = await throwaway_pg_database()
    procs: list[asyncio.subprocess.Process] = []
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    try:
        async with running_standins() as srv:
            await run_cluster(tmp_path, srv, db.url, procs, logs)
    except BaseException:
        for log in logs:
            if log.exists():
                print(
                    f"--- {log.name} (last lines)\n"
                    + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                )
        raise
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await db.drop()


async def run_cluster(
    tmp_path: Path, srv: StandIns, url: str, procs: list[asyncio.subprocess.Process], logs: list[Path]
) -> None:
    started = time.monotonic()
    config = write_cluster_config(tmp_path / "config", srv)
    env = bot_env(config, tmp_path / "data", srv)
    for key in [k for k in env if k.startswith("SLACK_")]:
        del env[key]
    env["DATABASE_URL"] = url
    backlog: set[str] = set()
    for n in range(2):  # what the first poll finds: it must never alert
        backlog |= {item.tag for item in publish(srv, 900 + n)}
    srv.feed_delay.update(dict.fromkeys(FEEDS, FEED_DELAY))

    port = free_port()  # the second worker (it survives) serves /healthz and /metrics
    for i, log in enumerate(logs):
        procs.append(await start("worker", env, log, port=port if i == 1 else 0))

    async def all_seeded() -> bool:
        try:
            rows = await pg(url, "SELECT count(*) FROM feeds WHERE seeded")
        except Exception:
            return False  # not migrated yet
        return rows[0][0] == len(FEEDS)

    await wait_until("every feed's first poll", all_seeded, within=120)
    seeded_at = time.monotonic()

    published: list[Item] = []
    killed_feeds: list[str] = []
    killed_at = 0.0
    victim = procs[0]
    for n in range(ROUNDS):
        published += publish(srv, n)
        if n == 1:
            await asyncio.sleep(ROUND_GAP / 2)  # mid-round: the new items' polls are under way
            for _ in range(20):  # kill it while it has polls in flight
                rows = await pg(
                    url,
                    "SELECT name FROM feeds WHERE poll_owner LIKE $1 AND poll_lease_until > now()",
                    f"%:{victim.pid}:%",
                )
                if rows:
                    break
                await asyncio.sleep(0.1)
            killed_feeds = [str(r[0]) for r in rows]
            victim.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await victim.wait()
            await asyncio.sleep(ROUND_GAP / 2)
        else:
            await asyncio.sleep(ROUND_GAP)

    tags = [i.tag for i in published]

    async def all_posted() -> bool:
        text = "\n".join(p.text for p in srv.of("discord", DISCORD_CHANNEL))
        return all(t in text for t in tags)

    await wait_until("every new item posted", all_posted, within=90)
    await asyncio.sleep(3)  # a duplicate would arrive now, if any
    ended = time.monotonic()

    # Every item published after the first poll: posted exactly once; the first poll's: never.
    texts = [p.text for p in srv.of("discord", DISCORD_CHANNEL)]
    counts = {t: sum(1 for x in texts if t in x) for t in tags}
    duplicates = {t: c for t, c in counts.items() if c != 1}
    backlog_posted = [t for t in backlog if any(t in x for x in texts)]

    # Each feed about once per interval, counted per feed (three workers polling everything would triple it).
    window = ended - seeded_at
    per_feed = [sum(1 for at in srv.fetched.get(f, []) if seeded_at <= at <= ended) for f in FEEDS]
    expected = window / INTERVAL
    gaps = sorted(
        b - a
        for f in FEEDS
        for a, b in zip(srv.fetched.get(f, []), srv.fetched.get(f, [])[1:], strict=False)
        if a >= seeded_at
    )

    # The killed worker's feeds: polled again (by the others) within one interval of the kill.
    recovery = []
    for name in killed_feeds:
        after = [at for at in srv.fetched.get(name, []) if at > killed_at]
        recovery.append(after[0] - killed_at if after else float("inf"))

    body, metrics = await health(port)
    polls = next(
        float(ln.split()[-1]) for ln in metrics.splitlines() if ln.startswith("pactwatch_polls_total")
    )
    assert body["role"] == "worker" and 'pactwatch_role{role="worker"} 1.0' in metrics and polls > 0

    # SIGTERM stops the rest cleanly.
    term_at = time.monotonic()
    for p in procs[1:]:
        p.send_signal(signal.SIGTERM)
    codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs[1:])), 60)
    stop_seconds = time.monotonic() - term_at
    doing = (await pg(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"))[0][0]
    stories_without_article = (
        await pg(
            url,
            "SELECT count(*) FROM stories s"
            " WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id)",
        )
    )[0][0]

    print(
        f"\ncluster: {len(FEEDS)} feeds, interval {INTERVAL} s, 3 workers (one SIGKILLed), "
        f"test {time.monotonic() - started:.0f} s\n"
        f"fetches after the first poll over {window:.1f} s: {sum(per_feed)} in all, per feed min "
        f"{min(per_feed)} max {max(per_feed)} (expected about {expected:.1f} per feed, "
        f"{expected * len(FEEDS):.0f} in all); seconds between two fetches of a feed: median "
        f"{gaps[len(gaps) // 2] if gaps else 0:.1f}, min {min(gaps, default=0):.1f}, "
        f"max {max(gaps, default=0):.1f}\n"
        f"items published after the first poll: {len(tags)}; posted: {sum(counts.values())}; "
        f"not exactly once: {len(duplicates)}; first-poll items posted: {len(backlog_posted)}\n"
        f"killed worker's in-flight feeds: {len(killed_feeds)}; polled again after "
        f"max {max(recovery, default=0):.1f} s (mean {sum(recovery) / max(len(recovery), 1):.1f} s)\n"
        f"SIGTERM: exit codes {codes} after {stop_seconds:.1f} s; jobs left 'doing': {doing}; "
        f"stories without an article: {stories_without_article}"
    )
    assert not duplicates, f"items not posted exactly once: {sorted(duplicates.items())[:10]}"
    assert not backlog_posted, f"first-poll items alerted: {backlog_posted[:10]}"
    # Once per interval, give or take a slot (a feed's phase, a late poll): never once per worker.
    assert max(per_feed) <= expected + 2, f"a feed was fetched {max(per_feed)} times in {window:.0f} s"
    assert sum(per_feed) <= len(FEEDS) * (expected + 1), f"{sum(per_feed)} fetches: polled by several workers"
    assert min(per_feed) >= 1 and sum(per_feed) >= 0.6 * len(FEEDS) * (expected - 1), "feeds were not polled"
    assert killed_feeds, "the killed worker had no poll in flight (the test did not kill it mid-round)"
    assert max(recovery) <= INTERVAL, f"the killed worker's feeds waited {max(recovery):.1f} s"
    assert codes == [0, 0]
    assert doing == 0
    assert stories_without_article == 0
