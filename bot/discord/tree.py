"""The slash-command tree: discord.py ``app_commands`` that translate interactions into calls of the
shared command layer and render its replies. No command logic lives here.

Layout: Discord applies ``default_member_permissions`` to top-level commands only, so configuration
lives under its own top-level commands (``/watch``, ``/feeds``, ``/subscribe``, ``/unsubscribe``,
``/resume``, ``/digest``), which default to Manage Server and are server-only; reading commands
(``/facts``, ``/fact``, ``/why``, ``/status``, ``/trend``, ``/settings``, ``/help``) are open. A server can
change who sees which command in its Integrations settings; the command layer's run-time check is what
decides either way.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord
from discord import app_commands

from bot.commands import Caller, Choice, Commands, Reply
from bot.discord.render import render_reply

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 2.0  # Discord wants a response within 3 s; defer when the work takes longer
MANAGE = discord.Permissions(manage_guild=True)
_ZONES: list[str] = []


def caller_of(interaction: discord.Interaction[Any]) -> Caller:
    """Who and where, as the command layer sees it. Manage Server (or Administrator) in the channel
    decides ``can_manage``; Discord resolves the member's permissions for us."""
    in_dm = interaction.guild_id is None
    perms = interaction.permissions
    return Caller(
        platform="discord",
        tenant="" if in_dm else f"discord:{interaction.guild_id}",
        channel=str(interaction.channel_id or ""),
        user_id=str(interaction.user.id),
        user_name=interaction.user.name,
        can_manage=not in_dm and (perms.manage_guild or perms.administrator),
        in_dm=in_dm,
    )


def _message_kwargs(reply: Reply) -> dict[str, Any]:
    embeds, file = render_reply(reply)
    kwargs: dict[str, Any] = {
        "embeds": [discord.Embed.from_dict(e) for e in embeds],
        "allowed_mentions": discord.AllowedMentions.none(),
        "ephemeral": reply.ephemeral,
    }
    if file is not None:
        import io

        kwargs["file"] = discord.File(io.BytesIO(file[1]), filename=file[0])
    return kwargs


def _choices(found: list[Choice]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c.name[:100], value=c.value[:100]) for c in found[:25]]


def build_tree(
    client: discord.Client, cmds: Commands, *, defer_after: float = DEFER_AFTER_SECONDS
) -> app_commands.CommandTree[discord.Client]:
    """The full command tree for ``client``, every callback going through ``cmds``."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    async def respond(
        interaction: discord.Interaction[Any], run: Callable[[Caller], Awaitable[Reply]], *, ephemeral: bool
    ) -> None:
        caller = caller_of(interaction)
        task = asyncio.ensure_future(cmds.safely(run(caller), what=f"/{_name(interaction)}"))
        done, _ = await asyncio.wait({task}, timeout=defer_after)
        try:
            if task in done:
                await interaction.response.send_message(**_message_kwargs(task.result()))
                return
            # The work takes longer than Discord waits for a first answer: show "thinking…" now.
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            reply = await task
            await interaction.followup.send(**_message_kwargs(reply))
        except discord.HTTPException as exc:
            log.warning("could not answer /%s: %s", _name(interaction), exc)

    # --- /watch ---------------------------------------------------------------------------------
    watch = app_commands.Group(
        name="watch",
        description="Watchlists: boolean queries matched against every new article.",
        default_permissions=MANAGE,
        guild_only=True,
    )

    @watch.command(name="add", description="Watch this channel's feeds for a boolean query.")
    @app_commands.describe(
        query='e.g. "mutual defense" NEAR/5 treaty, or Kursk AND (troops OR soldiers)',
        label="A short name shown in alerts and digests",
        alert="Post a match at once (otherwise it waits for the digest)",
    )
    async def watch_add(
        interaction: discord.Interaction[Any], query: str, label: str | None = None, alert: bool = False
    ) -> None:
        await respond(interaction, lambda c: cmds.watch_add(c, query, label, alert), ephemeral=True)

    @watch.command(name="list", description="This channel's watches.")
    async def watch_list(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.watch_list, ephemeral=True)

    @watch.command(name="remove", description="Remove one of this channel's watches.")
    @app_commands.describe(watch_id="The watch's id, from /watch list")
    async def watch_remove(interaction: discord.Interaction[Any], watch_id: str) -> None:
        await respond(interaction, lambda c: cmds.watch_remove(c, watch_id), ephemeral=True)

    @watch_remove.autocomplete("watch_id")
    async def watch_id_complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices(await cmds.complete_watches(caller_of(interaction), current))

    @watch.command(
        name="test", description="Stored articles of the last days a query would match, without saving."
    )
    @app_commands.describe(query="The query to try")
    async def watch_test(interaction: discord.Interaction[Any], query: str) -> None:
        await respond(interaction, lambda c: cmds.watch_test(c, query), ephemeral=True)

    tree.add_command(watch)

    # --- /feeds ---------------------------------------------------------------------------------
    feeds = app_commands.Group(
        name="feeds",
        description="The RSS/Atom feeds polled for this server.",
        default_permissions=MANAGE,
        guild_only=True,
    )

    @feeds.command(name="list", description="Feeds polled for this server, with their health.")
    async def feeds_list(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.feeds_list, ephemeral=True)

    @feeds.command(name="add", description="Poll another RSS or Atom feed for this server.")
    @app_commands.describe(url="The feed's address, starting with https://")
    async def feeds_add(interaction: discord.Interaction[Any], url: str) -> None:
        await respond(interaction, lambda c: cmds.feeds_add(c, url), ephemeral=True)

    @feeds.command(name="remove", description="Stop polling a feed this server added.")
    @app_commands.describe(feed_id="The feed's id, from /feeds list")
    async def feeds_remove(interaction: discord.Interaction[Any], feed_id: str) -> None:
        await respond(interaction, lambda c: cmds.feeds_remove(c, feed_id), ephemeral=True)

    @feeds_remove.autocomplete("feed_id")
    async def feed_id_complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices(await cmds.complete_feeds(caller_of(interaction), current))

    tree.add_command(feeds)

    # --- /digest --------------------------------------------------------------------------------
    digest = app_commands.Group(
        name="digest", description="This channel's digest.", default_permissions=MANAGE, guild_only=True
    )

    @digest.command(name="now", description="Post this channel's digest since its last one.")
    async def digest_now(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.digest_now, ephemeral=True)

    tree.add_command(digest)

    # --- subscription ---------------------------------------------------------------------------
    @tree.command(name="subscribe", description="Set what this channel receives: alerts, digests, facts.")
    @app_commands.describe(
        facts="Fact ids separated by commas, or 'all'",
        alerts="Which matches post at once",
        digest="08:00 (daily), 'weekdays 08:00', a crontab like '0 8 * * 1-5', or 'off'",
        timezone="IANA time zone of the digest schedule, e.g. Asia/Seoul",
        mention="A role to mention in alerts",
        no_mention="Stop mentioning a role in alerts",
        quiet="Quiet hours without alerts, e.g. 22:00-07:00, or 'off'",
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def subscribe(
        interaction: discord.Interaction[Any],
        facts: str | None = None,
        alerts: Literal["off", "facts", "watches", "all"] | None = None,
        digest: str | None = None,
        timezone: str | None = None,
        mention: discord.Role | None = None,
        no_mention: bool = False,
        quiet: str | None = None,
    ) -> None:
        role = "off" if no_mention else (str(mention.id) if mention is not None else None)
        await respond(
            interaction,
            lambda c: cmds.subscribe(
                c,
                facts=facts,
                alerts=alerts,
                digest=digest,
                timezone=timezone,
                mention_role=role,
                quiet=quiet,
            ),
            ephemeral=True,
        )

    @subscribe.autocomplete("facts")
    async def facts_complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Complete the last id of a comma-separated list, keeping the ones already typed.
        head, _, last = current.rpartition(",")
        prefix = f"{head}," if head else ""
        found = await cmds.complete_facts(caller_of(interaction), last)
        return [
            app_commands.Choice(name=c.name[:100], value=(prefix + c.value)[:100])
            for c in [Choice(value="all", name="all — every fact"), *found]
            if len(prefix + c.value) <= 100
        ][:25]

    @subscribe.autocomplete("timezone")
    async def tz_complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if not _ZONES:
            _ZONES.extend(sorted(zoneinfo.available_timezones()))
        low = current.lower()
        return [app_commands.Choice(name=z, value=z) for z in _ZONES if low in z.lower()][:25]

    @tree.command(name="unsubscribe", description="Stop all pactwatch posts to this channel.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def unsubscribe(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.unsubscribe, ephemeral=True)

    @tree.command(
        name="resume", description="Resume posting here after fixing the bot's channel permissions."
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def resume(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.resume, ephemeral=True)

    # --- reading (open to everyone) -------------------------------------------------------------
    @tree.command(name="settings", description="This channel's subscription, and whether it is paused.")
    async def settings(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.settings, ephemeral=True)

    @tree.command(name="facts", description="The key facts tracked, with recent match counts.")
    async def facts_cmd(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.facts, ephemeral=False)

    @tree.command(name="fact", description="The latest stories reporting one key fact.")
    @app_commands.describe(fact_id="The fact's id, from /facts")
    async def fact(interaction: discord.Interaction[Any], fact_id: str) -> None:
        await respond(interaction, lambda c: cmds.fact(c, fact_id), ephemeral=False)

    @fact.autocomplete("fact_id")
    async def fact_id_complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices(await cmds.complete_facts(caller_of(interaction), current))

    @tree.command(name="why", description="Which facts and watches an article matched, with the evidence.")
    @app_commands.describe(article="The article's link, or its id")
    async def why(interaction: discord.Interaction[Any], article: str) -> None:
        await respond(interaction, lambda c: cmds.why(c, article), ephemeral=False)

    @tree.command(name="status", description="Uptime, feed health, last poll and outbox depth.")
    async def status(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.status, ephemeral=False)

    @tree.command(name="trend", description="A chart of stories per key fact per day.")
    @app_commands.describe(days="How many days back")
    async def trend(interaction: discord.Interaction[Any], days: Literal[7, 30] = 7) -> None:
        await respond(interaction, lambda c: cmds.trend(c, days), ephemeral=False)

    @tree.command(name="help", description="What pactwatch's commands do.")
    async def help_cmd(interaction: discord.Interaction[Any]) -> None:
        await respond(interaction, cmds.help, ephemeral=True)

    return tree


def _name(interaction: discord.Interaction[Any]) -> str:
    cmd = interaction.command
    return cmd.qualified_name if cmd is not None else "?"
