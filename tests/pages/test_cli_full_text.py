"""``pactwatch poll --once --json`` prints the text the poll matched and where it came from, so that piping
it into ``pactwatch match`` gives the same facts; ``poll --once`` reads its pages before it exits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.pages.site import Page, Site, article_page, rss
from tests.pages.test_full_text import BODY, TITLE

pytestmark = pytest.mark.slow


async def pactwatch(tmp_path: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACTWATCH_", "DISCORD_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        PACTWATCH_CONFIG=str(tmp_path / "pactwatch.toml"),
        PACTWATCH_DATA_DIR=str(tmp_path / "data"),
        PACTWATCH_FEEDS_FILE=str(tmp_path / "feeds.toml"),
        PACTWATCH_PARSE_WORKERS="1",
        PACTWATCH_HEALTH_PORT="0",
        PACTWATCH_ALLOW_PRIVATE_NETWORKS="true",
        PACTWATCH_PAGE_PER_HOST_INTERVAL_SECONDS="0",
        PACTWATCH_ALERT_MAX_AGE_HOURS="1000000",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_poll_json_piped_into_match_gives_the_polls_facts(tmp_path: Path, site: Site) -> None:
    site.html("/news/1", article_page(TITLE, BODY))
    site.html(
        "/news/2", article_page("Rain expected", ["Heavy rain is expected on Friday, forecasters said."])
    )
    site.pages["/feed.xml"] = Page(rss([]), "application/rss+xml")
    (tmp_path / "feeds.toml").write_text(f'[[feeds]]\nname = "Loopback"\nurl = "{site.url("/feed.xml")}"\n')
    code, _, err = await pactwatch(tmp_path, "poll", "--once", "--json")  # the first poll seeds
    assert code == 0, err
    site.pages["/feed.xml"] = Page(
        rss(
            [
                ("1", TITLE, site.url("/news/1"), "The two leaders held talks."),
                ("2", "Kim Jong Un inspects a farm", site.url("/missing"), "State media reported the visit."),
            ]
        ),
        "application/rss+xml",
    )
    code, out, err = await pactwatch(tmp_path, "poll", "--once", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    by_id = {line["url"]: line for line in lines}
    paged, missing = by_id[site.url("/news/1")], by_id[site.url("/missing")]
    assert paged["text_source"] == "page" and "strategic partnership" in paged["text"]
    assert missing["text_source"] == "feed" and missing["text"] == "State media reported the visit."
    assert {"treaty_signed", "mutual_defense"} <= set(paged["facts"])
    assert site.count("/news/1") == 1, "poll --once read its pages before it exited"

    code, matched, err = await pactwatch(tmp_path, "match", stdin=out.encode())
    assert code == 0, err
    results = {r["id"]: r for r in map(json.loads, matched.splitlines())}
    for line in lines:
        assert results[line["id"]]["facts"] == line["facts"], line["url"]
        assert results[line["id"]]["relevant"] == line["relevant"]


async def test_an_unknown_full_text_value_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text(
        '[[feeds]]\nurl = "https://site.invalid/feed.xml"\nfull_text = "sometimes"\n'
    )
    code, out, err = await pactwatch(tmp_path, "check-config")
    assert code != 0
    assert "feeds[0].full_text: 'sometimes' is not one of auto, always, never" in out + err
