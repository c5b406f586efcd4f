"""The command line, run as a real process: ``poll --once`` and ``run``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import rss

REPO = Path(__file__).resolve().parents[1]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACTWATCH_", "DISCORD_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "PACTWATCH_CONFIG": str(tmp_path / "pactwatch.toml"),
            "PACTWATCH_DATA_DIR": str(tmp_path / "data"),
            "PACTWATCH_PARSE_WORKERS": "1",
            "PACTWATCH_HEALTH_PORT": "0",
            "PACTWATCH_FULL_TEXT": "never",  # items link to real hosts: no page is read
        }
    )
    env.update(extra)
    return env


def pactwatch(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env_for(tmp_path, **env),
        cwd=tmp_path,
        timeout=120,
    )


def write_feed(tmp_path: Path) -> Path:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(
        rss(
            [
                {
                    "title": "Putin and Kim sign strategic partnership treaty in Pyongyang",
                    "link": "https://news.example/pact?utm_source=rss",
                    "description": "Russia and North Korea signed a treaty with a mutual defence clause.",
                },
                {
                    "title": "Weather in Seoul",
                    "link": "https://news.example/weather",
                    "description": "Sunny.",
                },
            ]
        )
    )
    return feed


def test_poll_once_json_lists_articles_then_none(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    first = pactwatch(tmp_path, "poll", "--once", "--feed", str(feed), "--json")
    assert first.returncode == 0, first.stderr
    records = sorted((json.loads(line) for line in first.stdout.splitlines()), key=lambda r: r["id"])
    assert [r["title"] for r in records] == [
        "Putin and Kim sign strategic partnership treaty in Pyongyang",
        "Weather in Seoul",
    ]
    pact, weather = records
    assert set(pact) == {
        "id", "feed", "source", "title", "text", "text_source", "url", "published", "lang", "relevant",
        "facts", "watches",
    }  # fmt: skip
    assert pact["text_source"] == "feed", "a first poll reads no pages"
    assert pact["source"] == "Test feed", "credited to the feed's own title, not its file name"
    assert "mutual defence clause" in pact["text"]
    assert pact["url"] == "https://news.example/pact", "tracking parameters are removed"
    assert pact["relevant"] is True and "treaty_signed" in pact["facts"]
    assert weather["relevant"] is False and weather["facts"] == []
    assert pact["feed"] == feed.resolve().as_uri()
    # Again over the same data dir: nothing new, and stdout stays empty.
    second = pactwatch(tmp_path, "poll", "--once", "--feed", str(feed), "--json")
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""


def test_poll_once_names_each_failed_feed_once_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00\x01\x02 not a feed at all <<<")
    good = write_feed(tmp_path)
    r = pactwatch(tmp_path, "poll", "--once", "--feed", str(bad), "--feed", str(good), "--json")
    assert r.returncode == 1, "a failed feed makes the run fail"
    assert len(r.stdout.splitlines()) == 2  # the good feed's articles
    assert [line for line in r.stderr.splitlines() if "bad.xml" in line] == [
        line for line in r.stderr.splitlines() if line.startswith(f"feed {bad.resolve().as_uri()}: ")
    ]
    assert len([line for line in r.stderr.splitlines() if "bad.xml" in line]) == 1, r.stderr
    assert "next try" not in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1] == "2 feeds: 1 ok, 1 failed; 2 new articles, 1 relevant"


def test_poll_once_with_every_feed_failing_exits_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xml"
    r = pactwatch(tmp_path, "poll", "--once", "--feed", str(missing))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == "1 feed: 0 ok, 1 failed; no new articles"


def test_poll_once_says_no_new_articles(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    assert pactwatch(tmp_path, "poll", "--once", "--feed", str(feed)).returncode == 0
    again = pactwatch(tmp_path, "poll", "--once", "--feed", str(feed))
    assert again.returncode == 0 and again.stdout == ""
    assert again.stderr.splitlines() == ["1 feed: 1 ok; no new articles"], "nothing else: no internals"


def test_poll_once_refuses_a_scheme_it_cannot_fetch(tmp_path: Path) -> None:
    r = pactwatch(tmp_path, "poll", "--once", "--feed", "ftp://feeds.invalid/nk.xml")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "'ftp://feeds.invalid/nk.xml' uses the ftp: scheme, which pactwatch cannot fetch; "
        "give an http(s) URL, a file:// URL or a local path."
    )


def test_poll_once_text_is_newest_first_in_the_console_zone(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    day = "Mon, 02 Nov 2026"
    older = {"title": "Older item", "link": "https://news.example/a", "pubDate": f"{day} 08:00:00 GMT"}
    newer = {"title": "Newer item", "link": "https://news.example/b", "pubDate": f"{day} 10:30:00 GMT"}
    feed.write_bytes(rss([older, newer]))
    (tmp_path / "pactwatch.toml").write_text(
        '[[subscriptions]]\nplatform = "console"\nchannel = "console"\ntimezone = "Asia/Seoul"\n'
    )
    r = pactwatch(tmp_path, "poll", "--once", "--feed", str(feed))
    assert r.returncode == 0, r.stderr
    heads = [line for line in r.stdout.splitlines() if not line.startswith("    ")]
    assert [h.split("] ", 1)[1] for h in heads] == ["Newer item — Test feed", "Older item — Test feed"]
    assert heads[0].startswith("  2026-11-02 19:30 KST [en]")


def test_poll_json_piped_to_match_gives_the_polls_facts(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    polled = pactwatch(tmp_path, "poll", "--once", "--feed", str(feed), "--json")
    assert polled.returncode == 0, polled.stderr
    matched = subprocess.run(
        [sys.executable, "-m", "bot", "match"],
        input=polled.stdout,
        capture_output=True,
        text=True,
        env=env_for(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert matched.returncode == 0, matched.stderr
    by_id = {r["id"]: r for r in map(json.loads, polled.stdout.splitlines())}
    out = [json.loads(line) for line in matched.stdout.splitlines()]
    assert len(out) == len(by_id) == 2
    for m in out:
        assert (m["relevant"], m["facts"]) == (by_id[m["id"]]["relevant"], by_id[m["id"]]["facts"]), m


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_run_without_tokens_stays_up_offline_and_stops_on_sigint(tmp_path: Path) -> None:
    """`make run`'s service on embedded defaults: SQLite in the data dir, console sink, feeds that cannot
    be reached (each failure logged once per backoff step), health endpoint up, clean stop on Ctrl-C."""
    dead = _free_port()  # nothing listens here: every poll fails at once
    (tmp_path / "feeds.toml").write_text(
        f'[[feeds]]\nname = "Offline A"\nurl = "http://127.0.0.1:{dead}/a.xml"\n\n'
        f'[[feeds]]\nname = "Offline B"\nurl = "http://127.0.0.1:{dead}/b.xml"\n'
    )
    (tmp_path / "pactwatch.toml").write_text("backoff_base_seconds = 3600\n")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env_for(
            tmp_path,
            PACTWATCH_HEALTH_PORT=str(port),
            PACTWATCH_ALLOW_PRIVATE_NETWORKS="true",
            PACTWATCH_POLL_INTERVAL_SECONDS="20",
        ),
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    health = json.loads(resp.read())
                if health.get("feeds_failing") == 2:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert health is not None and health["feeds"] == 2 and health["feeds_failing"] == 2, health
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            metrics = resp.read().decode()
        assert "pactwatch_polls_total" in metrics and "pactwatch_outbox_depth" in metrics
        assert "pactwatch_fetch_seconds_count 2.0" in metrics, "both failed fetches were timed"
        assert 'pactwatch_feed_seconds_since_success{feed="Offline A"}' in metrics
        time.sleep(6)  # more scheduler ticks: the feeds are in backoff and must not be logged again
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert (tmp_path / "data" / "pactwatch.db").is_file()
    assert err.count("Offline A failed") == 1, err
    assert err.count("Offline B failed") == 1, err
    assert err.count("2 feeds: 0 ok, 2 failed; no new articles") == 1, "one INFO line per round that polled"
    assert "alembic" not in err and "story index" not in err, "internals stay at DEBUG"
    assert "stopped" in err and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("args", [["facts"], ["--help"]])
def test_simple_commands(tmp_path: Path, args: list[str]) -> None:
    r = pactwatch(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    if args == ["facts"]:
        assert "treaty_signed" in r.stdout and "arms_transfers" in r.stdout


def test_match_reads_jsonl_and_keeps_every_line_in_order(tmp_path: Path) -> None:
    lines = [
        {
            "id": "a",
            "title": "Putin and Kim sign mutual defence treaty",
            "text": "Russia and North Korea agreed to give military assistance if either is attacked.",
            "published": "2024-06",
        },
        "not json at all",
        {"id": "b", "title": "Weather", "text": "Sunny in Seoul", "published": "garbage"},
        {
            "id": "c",
            "title": "북러 조약 비준",
            "text": "러시아 국가두마가 북한과의 조약을 비준했다.",
            "lang": "ko",
        },
    ]
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    )
    r = pactwatch(tmp_path, "match", str(src), "--watch", "weather OR 날씨")
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 4, r.stderr
    assert out[0]["id"] == "a" and out[0]["relevant"] and "mutual_defense" in out[0]["facts"]
    assert "error" in out[1]
    assert out[2]["id"] == "b" and not out[2]["relevant"] and out[2]["watches"] == ["weather OR 날씨"]
    assert out[3]["id"] == "c" and out[3]["relevant"] and "ratification" in out[3]["facts"]
    assert r.returncode == 1  # one bad line


@pytest.mark.slow
def test_digest_prints_stored_stories(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    assert pactwatch(tmp_path, "poll", "--once", "--feed", str(feed)).returncode == 0
    r = pactwatch(tmp_path, "digest", "--since", "7d", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    text = json.dumps(doc, ensure_ascii=False)
    assert "Putin and Kim sign strategic partnership treaty in Pyongyang" in text
    assert "Weather in Seoul" not in text
    bad = pactwatch(tmp_path, "digest", "--since", "soon")
    assert bad.returncode == 2 and bad.stderr.strip() and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_digest_for_a_channel_in_its_zone_and_every_story(tmp_path: Path) -> None:
    (tmp_path / "pactwatch.toml").write_text(
        '[[subscriptions]]\nplatform = "console"\nchannel = "console"\ntimezone = "Asia/Seoul"\n'
    )
    feed = tmp_path / "feed.xml"
    topics = ["treaty ratified", "treaty signed in Pyongyang", "treaty text published", "treaty clause",
              "treaty anniversary", "treaty and sanctions", "treaty debate in Duma"]  # fmt: skip
    feed.write_bytes(
        rss(
            [
                {
                    "title": f"North Korea and Russia: {topic} ({i})",
                    "link": f"https://news{i}.example/{i}",
                    "description": f"Story {i} about a different thing: Russia, North Korea, the {topic}.",
                }
                for i, topic in enumerate(topics)
            ]
        )
    )
    assert pactwatch(tmp_path, "poll", "--once", "--feed", str(feed)).returncode == 0
    top2 = {"PACTWATCH_DIGEST_TOP_PER_SECTION": "2"}
    capped = pactwatch(tmp_path, "digest", "--since", "30d", "--channel", "console:console", **top2)
    assert capped.returncode == 0, capped.stderr
    assert "KST · " in capped.stdout.splitlines()[1], "the window in the subscription's zone"
    assert "… and" in capped.stdout
    every = pactwatch(tmp_path, "digest", "--since", "30d", "--channel", "console:console", "--all", **top2)
    assert every.returncode == 0 and "… and" not in every.stdout
    assert sum(line.startswith("- ") for line in every.stdout.splitlines()) == len(topics)
    wrong = pactwatch(tmp_path, "digest", "--channel", "console:x")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "console:x has no subscription; the subscribed channels are console:console."
    )
    shapeless = pactwatch(tmp_path, "digest", "--channel", "console")
    assert shapeless.returncode == 2 and "is not PLATFORM:ID" in shapeless.stderr


@pytest.mark.slow
def test_trend_writes_a_png_heat_map(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    assert pactwatch(tmp_path, "poll", "--once", "--feed", str(feed)).returncode == 0
    out = tmp_path / "trend.png"
    r = pactwatch(tmp_path, "trend", "--days", "30", "--timezone", "Asia/Seoul", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert r.stdout == "" and r.stderr.strip() == f"wrote {out} (30 days, Asia/Seoul)"
    bad = pactwatch(tmp_path, "trend", "--timezone", "Mars/Olympus", "--out", str(out))
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("'Mars/Olympus' is not a time zone; use an IANA name")
