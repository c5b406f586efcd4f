"""A local stand-in for Slack: the Web API methods pactwatch calls, response_url endpoints, a file upload
endpoint and a Socket Mode websocket, all recording what they received. Plus request signing."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot-token-0123456789-SECRET"
APP_TOKEN = "xapp-test-app-token-0123456789-SECRET"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM = "T0TEAM"
TENANT = f"slack:{TEAM}"


@dataclasses.dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() when the server received it
    auth: str


@dataclasses.dataclass
class FakeSlack:
    base: str = ""
    calls: list[Call] = dataclasses.field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)  # response_url
    history: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)  # newest first
    users: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    channel_errors: dict[str, str] = dataclasses.field(default_factory=dict)  # channel -> Slack error
    rate_limit: dict[str, int] = dataclasses.field(default_factory=dict)  # method -> 429s still to give
    retry_after: int = 1
    uploads: list[bytes] = dataclasses.field(default_factory=list)
    # Socket Mode
    envelopes: asyncio.Queue[dict[str, Any]] = dataclasses.field(default_factory=asyncio.Queue)
    ws_received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    ws_connections: int = 0
    _ts: Any = dataclasses.field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, rid: str) -> str:
        return f"{self.base}/response/{rid}"

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.of("chat.postMessage") if channel is None or c.args.get("channel") == channel]

    def add_history(self, channel: str, message: dict[str, Any]) -> None:
        self.history.setdefault(channel, []).insert(0, message)

    def next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"


async def _args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    body = await request.read()
    if not body:
        return args
    ctype = request.headers.get("Content-Type", "")
    if "json" in ctype:
        args.update(json.loads(body))
    elif "x-www-form-urlencoded" in ctype:
        args.update(dict(urllib.parse.parse_qsl(body.decode())))
    return args


def _decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def build_app(fake: FakeSlack) -> web.Application:
    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _args(request)
        fake.calls.append(Call(method, args, time.monotonic(), request.headers.get("Authorization", "")))
        if fake.rate_limit.get(method, 0) > 0:
            fake.rate_limit[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fake.retry_after)},
            )
        channel = str(args.get("channel") or args.get("channel_id") or "")
        if channel in fake.channel_errors and method in (
            "chat.postMessage",
            "conversations.history",
            "files.completeUploadExternal",
        ):
            return web.json_response({"ok": False, "error": fake.channel_errors[channel]})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "team_id": TEAM,
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                    "team": "Test",
                    "user": "bot",
                }
            )
        if method == "apps.connections.open":
            port = request.url.port
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{port}/ws"})
        if method == "users.info":
            user = fake.users.get(str(args.get("user")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": {"id": args.get("user"), **user}})
        if method == "chat.postMessage":
            ts = fake.next_ts()
            message = {"type": "message", "ts": ts, "text": args.get("text"), "bot_id": "BBOT"}
            if args.get("metadata"):
                message["metadata"] = _decode(args["metadata"])
            fake.add_history(channel, message)
            return web.json_response({"ok": True, "channel": channel, "ts": ts, "message": message})
        if method == "conversations.history":
            limit = int(args.get("limit", 100))
            with_meta = str(args.get("include_all_metadata")).lower() in ("1", "true")
            messages = [
                m if with_meta else {k: v for k, v in m.items() if k != "metadata"}
                for m in fake.history.get(channel, [])[:limit]
            ]
            return web.json_response({"ok": True, "messages": messages, "has_more": False})
        if method == "files.getUploadURLExternal":
            port = request.url.port
            return web.json_response(
                {"ok": True, "upload_url": f"http://127.0.0.1:{port}/upload/F1", "file_id": "F1"}
            )
        if method == "files.completeUploadExternal":
            return web.json_response({"ok": True, "files": [{"id": "F1", "title": args.get("files")}]})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def respond(request: web.Request) -> web.Response:
        fake.responses.setdefault(request.match_info["rid"], []).append(await request.json())
        return web.Response(text="ok")

    async def upload(request: web.Request) -> web.Response:
        fake.uploads.append(await request.read())
        return web.Response(text="OK - 1")

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse(autoping=True)
        await sock.prepare(request)
        fake.ws_connections += 1
        await sock.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})

        async def feed() -> None:
            while True:
                await sock.send_json(await fake.envelopes.get())

        feeder = asyncio.create_task(feed())
        try:
            async for msg in sock:
                if msg.type == WSMsgType.TEXT:
                    fake.ws_received.append(json.loads(msg.data))
        finally:
            feeder.cancel()
        return sock

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    app.router.add_post("/response/{rid}", respond)
    app.router.add_post("/upload/{fid}", upload)
    app.router.add_get("/ws", ws)
    return app


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slash_form(
    text: str,
    *,
    rid: str,
    fake: FakeSlack,
    user: str = "UADMIN",
    channel: str = "C100",
    channel_name: str = "news",
) -> dict[str, str]:
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": "/pactwatch",
        "text": text,
        "api_app_id": "A1",
        "response_url": fake.response_url(rid),
        "trigger_id": "1.2.3",
    }


async def wait_for(predicate: Callable[[], Any], *, within: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
