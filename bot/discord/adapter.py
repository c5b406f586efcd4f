"""The Discord adapter object: sink always; client, command tree and tree sync when live."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import discord.http

from bot.commands import Commands
from bot.discord.sink import DiscordSink
from bot.discord.tree import build_tree

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

TREE_HASH_META = "discord_tree_hash"


class PactwatchClient(discord.Client):
    """The gateway client: guilds intent only (no message content); commands via the tree."""

    def __init__(self, adapter: DiscordAdapter) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.adapter = adapter

    async def setup_hook(self) -> None:
        await self.adapter.sync_commands()

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.adapter.forget_guild(guild.id)


class DiscordAdapter:
    def __init__(self, svc: Core, *, live: bool) -> None:
        token = svc.settings.discord_token
        if token is None:
            raise RuntimeError("the Discord adapter needs DISCORD_TOKEN")
        self.svc = svc
        self.live = live
        self._token = token
        s = svc.settings
        self.sink = DiscordSink(
            token=token.get_secret_value(),
            api_base=s.discord_api_base,
            pace_seconds=s.discord_channel_pace_seconds,
            max_inline_wait=s.discord_max_inline_wait_seconds,
            request_timeout=s.send_timeout_seconds,
            find_limit=s.discord_find_sent_limit,
        )
        self.commands = Commands(svc)
        self.client: PactwatchClient | None = None
        self.tree: discord.app_commands.CommandTree[discord.Client] | None = None
        self._task: asyncio.Task[None] | None = None
        if live:
            # discord.py builds every REST URL from this class attribute; a REST proxy or a local test
            # server stands in for Discord through it.
            discord.http.Route.BASE = s.discord_api_base.rstrip("/")
            self.client = PactwatchClient(self)
            self.tree = build_tree(self.client, self.commands, defer_after=s.discord_defer_after_seconds)

    def __repr__(self) -> str:  # never the token
        return f"DiscordAdapter(live={self.live})"

    async def start(self) -> None:
        """Log in (which syncs the command tree when it changed) and connect to the gateway in the
        background, in the running loop."""
        if self.client is None:
            return
        try:
            await self.client.login(self._token.get_secret_value())
        except discord.LoginFailure:
            log.error("Discord refused DISCORD_TOKEN; check the token in the Developer Portal (Bot → Token)")
            return
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            # Alerts still go out over REST (the sink); only slash commands wait for the next start.
            log.error(
                "could not log in to Discord (%s); slash commands are off until pactwatch restarts, "
                "alerts are still delivered",
                exc,
            )
            return
        self._task = asyncio.create_task(self.client.connect(), name="discord-gateway")
        self._task.add_done_callback(_log_gateway_end)

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.sink.close()

    def tree_hash(self) -> str:
        """A hash of the command tree as Discord receives it (names, options, permissions)."""
        assert self.tree is not None
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    async def sync_commands(self) -> bool:
        """Sync the tree when its hash differs from the stored one. Returns whether it synced."""
        assert self.tree is not None
        guild_id = self.svc.settings.discord_dev_guild
        meta_key = f"{TREE_HASH_META}:{guild_id or 'global'}"
        digest = self.tree_hash()
        if await self.svc.store.get_meta(meta_key) == digest:
            log.info("Discord command tree unchanged; not syncing")
            return False
        try:
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
        except discord.HTTPException as exc:
            log.error("could not sync Discord commands (%s); they will be synced at the next start", exc)
            return False
        await self.svc.store.set_meta(meta_key, digest)
        log.info("Discord command tree synced%s", f" to guild {guild_id}" if guild_id else "")
        return True

    async def forget_guild(self, guild_id: int) -> None:
        """The bot left (or was removed from) a server: delete what that server configured."""
        await self.svc.store.delete_tenant(f"discord:{guild_id}")
        log.info("removed the configuration of Discord server %s (the bot left it)", guild_id)


def _log_gateway_end(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("Discord gateway connection ended: %s", exc)
