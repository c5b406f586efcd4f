"""Poll benchmark: the real pactwatch pipeline against a naive baseline, on a local feed server.

    .venv/bin/python benchmarks/bench_poll.py                # N = 500, 1000, 2000 (about 10 minutes)
    .venv/bin/python benchmarks/bench_poll.py --quick        # a small smoke run (about a minute)
    .venv/bin/python benchmarks/bench_poll.py --sizes 300 --alerts 0   # both rounds vs reader, no alert phase

For each N: a feed server process (``feedserver.py``) serves N feeds of 50 items (~100 KB, en/ko/ru) with
100 ms latency and ETags over 30 loopback addresses (``--addresses``). In this process, the bot is built by
``bot.app.build_services`` (SQLite in a temp dir, the catalog from config/facts.toml, 1,000 generated
watches, the outbox sending to a recording sink) and polls round 1 (every feed new) and round 2 (10% of
feeds changed, 50 new items each). Then the real scheduler path (``poller.poll_due()`` every tick, the
outbox woken by new deliveries) runs with a short poll interval while one new matching item is published,
and the time from publication to delivery at the sink is reported. The naive baseline (``naive.py``:
serial ``feedparser.parse(url)`` + a regex loop over the same watches) runs in its own process on a
subset of the same feeds and is scaled to N. The peer, lemon24/reader (``reader_peer.py``, from the
``bench`` extra), updates the same feeds as a whole process of its own after each of the bot's rounds, so
both see the same server state; its wall time per round and the ratio reader/pactwatch are printed.

Measured in this process (the bot's): wall time per round, feeds/s, articles/s, event-loop lag (a probe
task sleeping 10 ms and measuring the overshoot), peak RSS of this process and of its parser workers
(psutil, sampled every 100 ms by a thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from workload import WatchDef, make_watches  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.models import Delivery, FeedSpec, Platform, SendResult  # noqa: E402
from bot.settings import Settings  # noqa: E402

MARKER_WORD = "benchmarkmarker"
MiB = 1024 * 1024


# --- measurement ---------------------------------------------------------------------------------------


class LagProbe:
    """A task in the bot's loop: sleeps ``period`` and records how late it wakes up."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.period)
            self.samples.append(time.perf_counter() - t - self.period)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def mark(self) -> int:
        return len(self.samples)

    def stats(self, since: int) -> tuple[float, float]:
        """(max, p99) lag in milliseconds since ``mark``."""
        s = sorted(self.samples[since:]) or [0.0]
        p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
        return s[-1] * 1000, p99 * 1000


class MemorySampler:
    """Peak RSS of this process and of its children (minus ``exclude``: the feed server, the baseline)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.exclude: set[int] = set()
        self.main_peak = 0
        self.worker_peak = 0  # the largest single worker
        self.workers_total_peak = 0  # all workers together
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._me = psutil.Process()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                self.main_peak = max(self.main_peak, self._me.memory_info().rss)
            total = 0
            for child in self._children():
                with contextlib.suppress(psutil.Error):
                    rss = child.memory_info().rss
                    total += rss
                    self.worker_peak = max(self.worker_peak, rss)
            self.workers_total_peak = max(self.workers_total_peak, total)

    def _children(self) -> Iterator[psutil.Process]:
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            return
        excluded = set(self.exclude)
        for child in children:
            with contextlib.suppress(psutil.Error):
                if child.pid in excluded or child.ppid() in excluded:
                    continue
                yield child

    def cpu(self) -> tuple[float, float]:
        """CPU seconds (user + system) used so far by this process and by its live children."""
        me = self._me.cpu_times()
        workers = 0.0
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                ct = child.cpu_times()
                workers += ct.user + ct.system
        return me.user + me.system, workers

    def reset(self) -> None:
        self.main_peak = self.worker_peak = self.workers_total_peak = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class RecordingSink:
    """The local sink: records when each delivery arrived."""

    platform: Platform = "console"

    def __init__(self) -> None:
        self.received: list[tuple[float, Delivery]] = []

    async def send(self, delivery: Delivery) -> SendResult:
        self.received.append((time.time(), delivery))
        return SendResult("sent", message_id=f"m{len(self.received)}")

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None


@dataclasses.dataclass
class Phase:
    seconds: float = 0.0
    feeds: int = 0
    articles: int = 0
    errors: int = 0
    lag_max_ms: float = 0.0
    lag_p99_ms: float = 0.0
    main_rss: int = 0
    worker_rss: int = 0
    workers_rss: int = 0
    cpu_main: float = 0.0  # CPU seconds of this process in the round
    cpu_workers: float = 0.0  # of the parser workers


@dataclasses.dataclass
class PeerRound:
    """One round of the peer (reader) as a whole process: wall seconds from spawn to exit."""

    seconds: float
    update_seconds: float
    entries: int
    errors: int


@dataclasses.dataclass
class SizeResult:
    n: int
    rounds: list[Phase]
    peer: list[PeerRound]
    alert: Phase
    tta: list[float]
    interval: int
    tick: float
    baseline_feeds: int
    baseline_seconds: float
    baseline_articles: int

    @property
    def baseline_per_feed(self) -> float:
        return self.baseline_seconds / max(1, self.baseline_feeds)


# --- the feed server and the baseline, in their own processes ------------------------------------------


@contextlib.asynccontextmanager
async def feed_server(
    n: int, *, single_host: bool, latency: float, addresses: int = 30
) -> AsyncIterator[tuple[list[str], str, int]]:
    per_address = -(-n // max(1, addresses))
    args = [sys.executable, str(HERE / "feedserver.py"), "--feeds", str(n), "--latency", str(latency)]
    args += ["--per-address", str(per_address)]
    if single_host:
        args.append("--single-host")
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 * MiB
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line:
            raise RuntimeError(
                "the feed server did not start; run benchmarks/feedserver.py by hand to see why"
            )
        info = json.loads(line)
        yield info["feeds"], info["control"], proc.pid
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def run_baseline(urls: list[str], watches: list[WatchDef], sampler: MemorySampler) -> dict[str, Any]:
    spec = json.dumps({"urls": urls, "watches": [list(w.groups) for w in watches]}).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "naive.py"), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    sampler.exclude.add(proc.pid)
    out, _ = await proc.communicate(spec)
    sampler.exclude.discard(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(f"the naive baseline failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


async def run_peer(urls: list[str], db: Path, *, add: bool, sampler: MemorySampler) -> PeerRound:
    """One round of reader (``reader_peer.py``) in its own process, timed from spawn to exit."""
    spec = json.dumps({"urls": urls, "db": str(db), "add": add, "workers": 16}).encode()
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "reader_peer.py"), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    sampler.exclude.add(proc.pid)
    out, _ = await proc.communicate(spec)
    wall = time.perf_counter() - t0
    sampler.exclude.discard(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(
            f"the reader peer failed (exit code {proc.returncode}); pip install -e '.[bench]' or --no-peer"
        )
    got = json.loads(out)
    return PeerRound(
        seconds=wall, update_seconds=got["update_seconds"], entries=got["entries"], errors=got["errors"]
    )


async def control(session: aiohttp.ClientSession, base: str, path: str, data: dict[str, Any]) -> Any:
    async with session.post(base + path, json=data) as resp:
        resp.raise_for_status()
        return await resp.json()


# --- one size ------------------------------------------------------------------------------------------


def bench_settings(tmp: Path, *, interval: int) -> Settings:
    return Settings(
        data_dir=tmp,
        database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        facts_file=ROOT / "config" / "facts.toml",
        feeds_file=tmp / "no-feeds.toml",
        allow_private_networks=True,
        console="on",
        health_port=0,
        poll_interval_seconds=interval,
        poll_jitter_seconds=1,
        alerts_per_channel_per_hour=100_000,
        # The peer (reader) does not read article pages: neither does pactwatch here, so the two do the
        # same network work (bench_pages.py measures page reading).
        full_text="never",
        subscriptions=[
            {"platform": "console", "channel": "tta", "alerts": "watches"},
            *({"platform": "console", "channel": f"ch{k}", "alerts": "all"} for k in range(10)),
        ],
    )


async def run_size(
    n: int, args: argparse.Namespace, watches: list[WatchDef], sampler: MemorySampler
) -> SizeResult:
    interval = args.interval
    tick = max(5, min(15, interval // 4))  # run_service's tick for this interval
    async with (
        feed_server(n, single_host=args.single_host, latency=args.latency, addresses=args.addresses) as (
            urls,
            ctl,
            server_pid,
        ),
        aiohttp.ClientSession() as http,
    ):
        sampler.exclude.add(server_pid)
        with (
            tempfile.TemporaryDirectory(prefix="pactwatch-bench-") as tmpdir,
            open(os.devnull, "w") as devnull,  # noqa: ASYNC230 (opening /dev/null does not block)
        ):
            settings = bench_settings(Path(tmpdir), interval=interval)
            async with build_services(settings, console_stream=devnull, chat=False) as svc:
                assert svc.outbox is not None
                sink = RecordingSink()
                svc.outbox.sinks["console"] = sink
                now = svc.clock()
                for k, w in enumerate(watches):
                    await svc.store.add_watch(
                        platform="console", tenant="", channel=f"ch{k % 50}", query=w.query, label="",
                        alert=True, created_by="bench", now=now, quota=10**9,
                    )  # fmt: skip
                await svc.store.add_watch(
                    platform="console", tenant="", channel="tta", query=MARKER_WORD, label="marker",
                    alert=True, created_by="bench", now=now, quota=10**9,
                )  # fmt: skip
                for i, url in enumerate(urls):
                    await svc.store.ensure_feed(FeedSpec(url=url, name=f"Bench feed {i}"), now)
                # Compiled, started and loaded before timing, as a running bot has them (run_service).
                await asyncio.gather(svc.start_parsers(), svc.clusterer.start())

                stop = asyncio.Event()
                outbox_task = asyncio.create_task(
                    svc.outbox.run(interval=settings.outbox_interval_seconds, stop=stop)
                )
                probe = LagProbe()
                probe.start()
                rounds: list[Phase] = []
                peer: list[PeerRound] = []
                for r in (1, 2):
                    if r == 2:
                        changed = list(range(0, n, 10))
                        await control(http, ctl, "/change", {"feeds": changed, "new_items": args.new_items})
                    feeds = await svc.store.list_feeds()
                    sampler.reset()
                    mark = probe.mark()
                    cpu0 = sampler.cpu()
                    t0 = time.perf_counter()
                    prof = None
                    if args.profile:
                        import cProfile

                        prof = cProfile.Profile()
                        prof.enable()
                    report = await svc.poller.poll_feeds(feeds, keep_articles=False)  # as poll_due does
                    seconds = time.perf_counter() - t0
                    cpu1 = sampler.cpu()
                    if prof is not None:
                        prof.disable()
                        out = Path(args.profile).with_suffix(f".n{n}.r{r}.prof")
                        prof.dump_stats(out)
                        print(f"round {r}: profile of this process in {out}", file=sys.stderr)
                    lag_max, lag_p99 = probe.stats(mark)
                    rounds.append(
                        Phase(
                            seconds=seconds, feeds=len(report.outcomes), articles=report.articles,
                            errors=len(report.errors), lag_max_ms=lag_max, lag_p99_ms=lag_p99,
                            main_rss=sampler.main_peak, worker_rss=sampler.worker_peak,
                            workers_rss=sampler.workers_total_peak,
                            cpu_main=cpu1[0] - cpu0[0], cpu_workers=cpu1[1] - cpu0[1],
                        )
                    )  # fmt: skip
                    for o in report.errors[:3]:
                        print(f"  error: {o.feed.url}: {o.error}", file=sys.stderr)
                    if args.peer:
                        # The same server state as the bot's round just saw: round1(p), round1(r),
                        # change, round2(p), round2(r). The bot's loop idles while reader runs.
                        peer_db = Path(tmpdir) / "reader.sqlite"
                        peer.append(await run_peer(urls, peer_db, add=r == 1, sampler=sampler))
                    if args.tracemalloc:
                        import tracemalloc

                        snap = tracemalloc.take_snapshot()
                        traced = sum(x.size for x in snap.statistics("filename"))
                        print(f"round {r}: traced {traced / MiB:.0f} MB", file=sys.stderr)
                        for stat in snap.statistics("traceback")[:12]:
                            print(f"  {stat.size / MiB:.1f} MB {stat.count}", file=sys.stderr)
                            for line in stat.traceback.format()[-6:]:
                                print("     " + line, file=sys.stderr)

                # Time to alert on the real scheduler path.
                sampler.reset()
                mark = probe.mark()
                t_alert = time.perf_counter()
                tta: list[float] = []
                ticker = asyncio.create_task(_tick(svc.poller, tick))
                rng = random.Random(n)
                for k in range(args.alerts):
                    await asyncio.sleep(rng.uniform(1, interval))
                    feed = rng.randrange(0, n, 3)  # an English feed
                    title = f"North Korea and Russia treaty news {MARKER_WORD} {k}"
                    sent = await control(http, ctl, "/publish", {"feed": feed, "title": title})
                    deadline = time.time() + 4 * interval + 4 * tick + 30
                    arrived = None
                    while arrived is None and time.time() < deadline:
                        arrived = next(
                            (t for t, d in sink.received if title in getattr(d.payload, "title", "")), None
                        )
                        await asyncio.sleep(0.05)
                    tta.append(arrived - sent["published_at"] if arrived else float("nan"))
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                lag_max, lag_p99 = probe.stats(mark)
                alert = Phase(
                    seconds=time.perf_counter() - t_alert, lag_max_ms=lag_max, lag_p99_ms=lag_p99,
                    main_rss=sampler.main_peak, worker_rss=sampler.worker_peak,
                    workers_rss=sampler.workers_total_peak,
                )  # fmt: skip
                await probe.stop()
                stop.set()
                svc.outbox.wake.set()
                await outbox_task

        # The naive baseline on an evenly spread subset of the same feeds (after round 2).
        step = max(1, n // args.baseline_feeds)
        subset = urls[::step][: args.baseline_feeds]
        base = await run_baseline(subset, watches, sampler)
        sampler.exclude.discard(server_pid)
    return SizeResult(
        n=n, rounds=rounds, peer=peer, alert=alert, tta=tta, interval=interval, tick=tick,
        baseline_feeds=base["feeds"], baseline_seconds=base["seconds"], baseline_articles=base["articles"],
    )  # fmt: skip


async def _tick(poller: Any, tick: float) -> None:
    """The scheduler's poll job: ``poll_due()`` every ``tick`` seconds, one at a time."""
    while True:
        started = time.monotonic()
        await poller.poll_due()
        await asyncio.sleep(max(0.0, tick - (time.monotonic() - started)))


# --- output --------------------------------------------------------------------------------------------


def mb(v: int) -> str:
    return f"{v / MiB:.0f}"


def print_results(results: list[SizeResult], args: argparse.Namespace) -> None:
    print()
    print(
        f"pactwatch poll benchmark: {os.cpu_count()} CPUs, {args.latency * 1000:.0f} ms latency, 50 items "
        f"(~100 KB) a feed, catalog + {args.watches} watches, SQLite; round 2 = 10% of feeds with "
        f"{args.new_items} new items"
    )
    header = (
        f"{'N':>5} {'round':>6} {'wall s':>7} {'feeds/s':>8} {'art/s':>7} {'new art':>8} {'err':>4} "
        f"{'lag max':>8} {'lag p99':>8} {'RSS main':>9} {'RSS wkr':>8} {'wkrs sum':>9} "
        f"{'CPU main':>9} {'CPU wkrs':>9} {'naive s':>8} {'speedup':>8}"
    )
    print(header)
    print("-" * len(header))
    for res in results:
        naive = res.baseline_per_feed * res.n
        for r, ph in enumerate(res.rounds, 1):
            print(
                f"{res.n:>5} {r:>6} {ph.seconds:>7.1f} {ph.feeds / ph.seconds:>8.1f} "
                f"{ph.articles / ph.seconds:>7.0f} {ph.articles:>8} {ph.errors:>4} {ph.lag_max_ms:>6.1f}ms "
                f"{ph.lag_p99_ms:>6.1f}ms {mb(ph.main_rss):>7}MB {mb(ph.worker_rss):>6}MB "
                f"{mb(ph.workers_rss):>7}MB {ph.cpu_main:>8.1f}s {ph.cpu_workers:>8.1f}s "
                f"{naive:>8.1f} {naive / ph.seconds:>7.1f}x"
            )
        a = res.alert
        print(
            f"{res.n:>5} {'alert':>6} {a.seconds:>7.1f} {'':>8} {'':>7} {'':>8} {'':>4} "
            f"{a.lag_max_ms:>6.1f}ms "
            f"{a.lag_p99_ms:>6.1f}ms {mb(a.main_rss):>7}MB {mb(a.worker_rss):>6}MB {mb(a.workers_rss):>7}MB"
        )
    if any(res.peer for res in results):
        print()
        print(
            "peer: lemon24/reader (update_feeds(workers=16, scheduled=False): fetch, parse, store), each "
            "round a whole process of its own on the same server state (wall s: spawn to exit; update s: "
            "update_feeds alone); pactwatch: poll_feeds in this process (fetch, parse, match against the "
            "catalog + watches, cluster, store); articles: new this round for pactwatch, stored in all "
            "for reader"
        )
        head = (
            f"{'tool':<10} {'N':>5} {'round':>6} {'wall s':>7} {'update s':>9} {'articles':>9} {'err':>4} "
            f"{'pactwatch speedup (reader s / pactwatch s)':>43}"
        )
        print(head)
        print("-" * len(head))
        for res in results:
            for r, (ph, pr) in enumerate(zip(res.rounds, res.peer, strict=False), 1):
                print(
                    f"{'pactwatch':<10} {res.n:>5} {r:>6} {ph.seconds:>7.1f} {'':>9} {ph.articles:>9} "
                    f"{ph.errors:>4} {pr.seconds / ph.seconds:>42.2f}x"
                )
                print(
                    f"{'reader':<10} {res.n:>5} {r:>6} {pr.seconds:>7.1f} {pr.update_seconds:>9.1f} "
                    f"{pr.entries:>9} {pr.errors:>4}"
                )
    print()
    print("naive baseline (serial feedparser.parse(url) + regex loop over the watches, own process):")
    for res in results:
        print(
            f"  N={res.n}: measured on {res.baseline_feeds} of the {res.n} feeds (evenly spread): "
            f"{res.baseline_seconds:.1f} s = {res.baseline_per_feed:.3f} s/feed, scaled to N: "
            f"{res.baseline_per_feed * res.n:.0f} s a round (every round re-fetches and re-parses every feed)"
        )
    print()
    print("time to alert (publication -> delivery at the local sink), on the scheduler path:")
    for res in results:
        shown = ", ".join(f"{t:.1f} s" for t in res.tta)
        print(
            f"  N={res.n}: poll interval {res.interval} s (+ up to 1 s jitter), "
            f"tick {res.tick:.0f} s: {shown}"
            f"{'' if not res.tta else f' (mean {statistics.fmean(res.tta):.1f} s)'}"
        )
    if len(results) > 1:
        print()
        print("scaling (round 1 seconds per 1,000 feeds): " + ", ".join(
            f"N={r.n}: {r.rounds[0].seconds / r.n * 1000:.1f}" for r in results
        ))  # fmt: skip
    print()
    print("seed_first_poll is the default (on): round 1 stores without alerting, as a new install does.")


async def main_async(args: argparse.Namespace) -> list[SizeResult]:
    watches = make_watches(args.watches)
    sampler = MemorySampler()
    sampler.start()
    results = []
    try:
        for n in args.sizes:
            print(f"N={n}: running…", file=sys.stderr, flush=True)
            results.append(await run_size(n, args, watches, sampler))
    finally:
        sampler.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--quick", action="store_true", help="a small smoke run: N=60, 200 watches")
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--interval", type=int, default=10, help="poll interval for the time-to-alert phase")
    ap.add_argument("--alerts", type=int, default=2, help="items published in the time-to-alert phase")
    ap.add_argument("--baseline-feeds", type=int, default=30)
    ap.add_argument(
        "--new-items", type=int, default=50, help="new items in each changed feed (10%% of feeds) in round 2"
    )
    ap.add_argument(
        "--profile", metavar="PATH", help="cProfile this process's rounds into PATH.n<N>.r<round>.prof"
    )
    ap.add_argument("--single-host", action="store_true", help="serve every feed on 127.0.0.1 only")
    ap.add_argument(
        "--addresses", type=int, default=30, help="loopback addresses the feeds are spread over (as hosts)"
    )
    ap.add_argument(
        "--no-peer", dest="peer", action="store_false", help="skip reader (the peer, from the bench extra)"
    )
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.watches, args.alerts, args.baseline_feeds = [60], 200, 1, 6
    if args.peer and importlib.util.find_spec("reader") is None:
        print("reader is not installed (pip install -e '.[bench]'): no peer in this run", file=sys.stderr)
        args.peer = False
    os.environ.setdefault("PACTWATCH_CONFIG", str(Path(tempfile.gettempdir()) / "pactwatch-bench-none.toml"))
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(8)
    results = asyncio.run(main_async(args))
    print_results(results, args)


if __name__ == "__main__":
    main()
