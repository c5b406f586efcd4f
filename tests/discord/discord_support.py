"""A local stand-in for Discord's REST API: the routes pactwatch uses, recording what it receives.

- ``GET /users/@me`` and ``GET /oauth2/applications/@me`` (what ``Client.login`` calls);
- ``POST /channels/{id}/messages`` (JSON or multipart), honouring ``nonce`` + ``enforce_nonce`` like
  Discord while ``nonce_window`` is on; ``plan[channel]`` queues forced answers (429 with headers,
  403, 404, 400, or "accept-then-500" to simulate a crash after Discord accepted the message);
- ``GET /channels/{id}/messages`` (newest first);
- interaction callbacks, follow-ups, and command sync (``PUT /applications/{id}/commands``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

APP_ID = "7000"
BOT_ID = "7001"
BOT_USER = {
    "id": BOT_ID,
    "username": "pactwatch",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
}


def message_payload(mid: str, channel: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": mid,
        "channel_id": channel,
        "type": 0,
        "content": body.get("content", ""),
        "author": BOT_USER,
        "embeds": body.get("embeds", []),
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-11-02T09:00:00+00:00",
        "edited_timestamp": None,
        "flags": body.get("flags", 0),
        "components": [],
        "nonce": body.get("nonce"),
    }


@dataclasses.dataclass
class FakeDiscord:
    base: str = ""
    messages: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    posts: list[tuple[str, dict[str, Any]]] = dataclasses.field(
        default_factory=list
    )  # every POST, even refused
    files: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    plan: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    nonce_window: bool = True
    callbacks: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    followups: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    syncs: list[tuple[str, list[dict[str, Any]]]] = dataclasses.field(default_factory=list)
    auth_headers: set[str] = dataclasses.field(default_factory=set)
    ids: Any = dataclasses.field(default_factory=lambda: itertools.count(900_000))

    def channel(self, cid: str) -> list[dict[str, Any]]:
        return self.messages.setdefault(cid, [])

    async def wait_for(self, cond: Callable[[], bool], deadline_seconds: float = 10.0) -> None:
        """Poll ``cond`` until true (no fixed sleeps); fails after ``deadline_seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_seconds
        while not cond():
            if loop.time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.01)


def jr(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON exactly as Discord sends it: discord.py checks for a bare ``application/json``."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


async def _body(request: web.Request, srv: FakeDiscord) -> dict[str, Any]:
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        body: dict[str, Any] = {}
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                srv.files.append((part.filename or "", bytes(await part.read())))
        return body
    data: dict[str, Any] = await request.json()
    return data


def make_app(srv: FakeDiscord) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/users/@me")
    async def me(request: web.Request) -> web.Response:
        srv.auth_headers.add(request.headers.get("Authorization", ""))
        return jr(BOT_USER)

    @routes.get("/oauth2/applications/@me")
    async def app_info(request: web.Request) -> web.Response:
        return jr(
            {
                "id": APP_ID,
                "name": "pactwatch",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": BOT_USER,
                "verify_key": "00",
                "flags": 0,
                "summary": "",
                "rpc_origins": [],
            }
        )

    @routes.post("/channels/{cid}/messages")
    async def post_message(request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        srv.auth_headers.add(request.headers.get("Authorization", ""))
        body = await _body(request, srv)
        srv.posts.append((cid, body))
        planned = srv.plan.get(cid) or []
        action = planned.pop(0) if planned else None
        if isinstance(action, tuple) and action[0] == 429:
            _, retry_after, scope = (*action, "user")[:3]
            return jr(
                {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": scope == "global",
                },
                status=429,
                headers={
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Scope": scope,
                    **({"X-RateLimit-Global": "true"} if scope == "global" else {}),
                },
            )
        if action in (400, 403, 404):
            messages = {400: "Invalid Form Body", 403: "Missing Access", 404: "Unknown Channel"}
            code = {400: 50035, 403: 50001, 404: 10003}[action]
            return jr({"message": messages[action], "code": code}, status=action)
        msgs = srv.channel(cid)
        if srv.nonce_window and body.get("enforce_nonce") and body.get("nonce"):
            for m in msgs:
                if m.get("nonce") == body["nonce"]:
                    return jr(m)
        msg = message_payload(str(next(srv.ids)), cid, body)
        msgs.append(msg)
        if action == "accept-then-500":
            return jr({"message": "500: Internal Server Error", "code": 0}, status=500)
        headers = (
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "4.0"} if action == "last-token" else {}
        )
        return jr(msg, headers=headers)

    @routes.get("/channels/{cid}/messages")
    async def get_messages(request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        limit = int(request.query.get("limit", "50"))
        # Discord does not echo nonces on fetched messages: reconciliation must use the footer marker.
        out = [{k: v for k, v in m.items() if k != "nonce"} for m in reversed(srv.channel(cid))][:limit]
        return jr(out)

    @routes.post("/interactions/{iid}/{token}/callback")
    async def callback(request: web.Request) -> web.Response:
        iid = request.match_info["iid"]
        body = await _body(request, srv)
        srv.callbacks.setdefault(iid, []).append(body)
        return jr({"interaction": {"id": iid, "type": 2}, "resource": {"type": body.get("type", 4)}})

    @routes.post("/webhooks/{app}/{token}")
    async def followup(request: web.Request) -> web.Response:
        body = await _body(request, srv)
        srv.followups.append(body)
        return jr(message_payload(str(next(srv.ids)), "100", body))

    @routes.put("/applications/{app}/commands")
    async def sync_global(request: web.Request) -> web.Response:
        body = await request.json()
        srv.syncs.append(("global", body))
        return jr(
            [{**c, "id": str(8000 + i), "application_id": APP_ID, "version": "1"} for i, c in enumerate(body)]
        )

    @routes.put("/applications/{app}/guilds/{gid}/commands")
    async def sync_guild(request: web.Request) -> web.Response:
        body = await request.json()
        srv.syncs.append((request.match_info["gid"], body))
        return jr(
            [
                {
                    **c,
                    "id": str(8000 + i),
                    "application_id": APP_ID,
                    "version": "1",
                    "guild_id": request.match_info["gid"],
                }
                for i, c in enumerate(body)
            ]
        )

    api = web.Application()
    api.add_routes(routes)
    root = web.Application()
    root.add_subapp("/api/v10", api)
    return root
