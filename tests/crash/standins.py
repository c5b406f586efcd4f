"""One local aiohttp server standing in for the feeds, Discord's REST API and Slack's Web API.

It records every message it accepts and deduplicates nothing (no nonce window): a message posted twice
is there twice. ``kill_on_post`` makes it SIGKILL the bot right after it has recorded a message and
written the 200 response: the bot dies between the platform's acceptance and its outbox commit.
``fail`` makes every chat call answer an error (401/500/garbage) for the secrets test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal

from aiohttp import web

# "echo": a hostile or broken server that echoes the request's Authorization header in its error text.
Failure = Literal["401", "500", "garbage", "echo"]


@dataclasses.dataclass
class Item:
    tag: str  # unique; appears in the title, so it appears in every message about this item
    title: str
    link: str
    published: datetime


@dataclasses.dataclass
class Posted:
    platform: str
    channel: str
    body: dict[str, Any]
    id: str

    @property
    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


@dataclasses.dataclass
class StandIns:
    base: str = ""
    feeds: dict[str, list[Item]] = dataclasses.field(default_factory=dict)
    posted: list[Posted] = dataclasses.field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = dataclasses.field(default_factory=list)
    bot_pid: int | None = None
    kill_on_post: str | None = None  # "discord" or "slack": kill the bot after the next such post
    kills: int = 0
    fail: Failure | None = None
    # When each feed was fetched (time.monotonic()), and how long a feed takes to answer (seconds).
    fetched: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    feed_delay: dict[str, float] = dataclasses.field(default_factory=dict)
    _ids: Iterator[int] = dataclasses.field(default_factory=lambda: itertools.count(1_000_000))

    @property
    def discord_base(self) -> str:
        return f"{self.base}/discord/api/v10"

    @property
    def slack_api_url(self) -> str:
        return f"{self.base}/slack/api/"

    def feed_url(self, name: str) -> str:
        return f"{self.base}/feeds/{name}.xml"

    def of(self, platform: str, channel: str) -> list[Posted]:
        return [p for p in self.posted if p.platform == platform and p.channel == channel]


def rss(items: list[Item], title: str) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>{title}</title><link>http://example.org/</link><language>en</language>",
    ]
    for it in items:
        out.append(
            f"<item><title>{it.title}</title><link>{it.link}</link><guid>{it.link}</guid>"
            f"<description>{it.title}</description>"
            f"<pubDate>{format_datetime(it.published, usegmt=True)}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode()


def make_app(srv: StandIns) -> web.Application:
    def note(request: web.Request) -> None:
        srv.requests.append((request.method, request.path_qs, dict(request.headers)))

    async def feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        srv.fetched.setdefault(name, []).append(time.monotonic())
        if delay := srv.feed_delay.get(name):
            await asyncio.sleep(delay)
        items = srv.feeds.get(name)
        if items is None:
            return web.Response(status=404, text="no such feed")
        return web.Response(body=rss(items, name), content_type="application/rss+xml")

    def failure(request: web.Request) -> web.Response | None:
        if srv.fail == "echo":
            auth = request.headers.get("Authorization", "")
            echoed = f"unauthorized: {auth}"
            return web.json_response(
                {"message": echoed, "code": 50035, "ok": False, "error": echoed}, status=400
            )
        if srv.fail == "401":
            return web.json_response({"message": "401: Unauthorized", "code": 0, "ok": False}, status=401)
        if srv.fail == "500":
            return web.Response(status=500, text="<html>Internal Server Error</html>")
        if srv.fail == "garbage":
            return web.Response(status=200, body=b"\x00\xffnot json{", content_type="application/json")
        return None

    async def accept(request: web.Request, posted: Posted, answer: dict[str, Any]) -> web.StreamResponse:
        srv.posted.append(posted)
        if srv.kill_on_post != posted.platform or srv.bot_pid is None:
            return web.json_response(answer)
        srv.kill_on_post = None
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(json.dumps(answer).encode())
        await resp.write_eof()
        # The platform has the message and said so; the bot dies before it can record that.
        os.kill(srv.bot_pid, signal.SIGKILL)
        srv.kills += 1
        return resp

    async def discord_post(request: web.Request) -> web.StreamResponse:
        note(request)
        if (bad := failure(request)) is not None:
            return bad
        channel = request.match_info["channel"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body = json.loads(str(form["payload_json"]))
        else:
            body = await request.json()
        mid = str(next(srv._ids))
        answer = {"id": mid, "channel_id": channel, **body}
        return await accept(request, Posted("discord", channel, body, mid), answer)

    async def discord_history(request: web.Request) -> web.Response:
        note(request)
        if (bad := failure(request)) is not None:
            return bad
        channel = request.match_info["channel"]
        limit = int(request.query.get("limit", "50"))
        # Like Discord's history: newest first, and no nonce (it is only echoed on creation).
        msgs = [
            {
                "id": p.id,
                "channel_id": channel,
                "content": p.body.get("content"),
                "embeds": p.body.get("embeds"),
            }
            for p in reversed(srv.of("discord", channel))
        ]
        return web.json_response(msgs[:limit])

    async def slack_args(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        return args

    async def slack_post_message(request: web.Request) -> web.StreamResponse:
        note(request)
        if (bad := failure(request)) is not None:
            return bad
        args = await slack_args(request)
        channel = str(args.get("channel"))
        ts = f"{next(srv._ids)}.000100"
        return await accept(
            request, Posted("slack", channel, args, ts), {"ok": True, "channel": channel, "ts": ts}
        )

    async def slack_history(request: web.Request) -> web.Response:
        note(request)
        if (bad := failure(request)) is not None:
            return bad
        args = await slack_args(request)
        channel = str(args.get("channel"))
        limit = int(args.get("limit", 100))
        msgs = [
            {"type": "message", "ts": p.id, "text": p.body.get("text"), "metadata": p.body.get("metadata")}
            for p in reversed(srv.of("slack", channel))
        ]
        return web.json_response({"ok": True, "messages": msgs[:limit], "has_more": False})

    async def other(request: web.Request) -> web.Response:
        note(request)
        if (bad := failure(request)) is not None:
            return bad
        return web.json_response(
            {"ok": False, "error": "unknown_method", "message": "404: Not Found"}, status=404
        )

    app = web.Application()
    app.router.add_get("/feeds/{name}.xml", feed)
    app.router.add_post("/discord/api/v10/channels/{channel}/messages", discord_post)
    app.router.add_get("/discord/api/v10/channels/{channel}/messages", discord_history)
    app.router.add_post("/slack/api/chat.postMessage", slack_post_message)
    app.router.add_route("*", "/slack/api/conversations.history", slack_history)
    app.router.add_route("*", "/{tail:.*}", other)
    return app


@asynccontextmanager
async def running_standins() -> AsyncIterator[StandIns]:
    srv = StandIns()
    runner = web.AppRunner(make_app(srv), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield srv
    finally:
        await runner.cleanup()


def now_utc() -> datetime:
    return datetime.now(UTC)
