"""``/pactwatch``: from a slash-command payload to a call of the shared command layer, and back.

Nothing here decides what a command does; it reads the text (``command_text``), works out who is
calling and whether they may change settings (workspace admins and owners per ``users.info``, plus
``slack_admins``), calls ``bot.commands.Commands`` and renders its ``Reply`` as Block Kit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Caller, Commands, Reply, ReplyItem, error_reply
from bot.slack.blocks import RenderLimits, SlackMessage, render_reply
from bot.slack.command_text import SUBCOMMANDS, CommandText, CommandTextError, parse_command_text, unwrap_link
from bot.slack.sink import SlackSink

log = logging.getLogger(__name__)

COMMAND = "/pactwatch"
Run = Callable[[Commands, CommandText, Caller], Awaitable[Reply]]


def _help(c: Commands, cmd: CommandText, caller: Caller) -> Awaitable[Reply]:
    async def run() -> Reply:
        blocked = c.gate(caller)
        if blocked is not None:
            return blocked
        return help_reply()

    return run()


# Which command-layer method each subcommand calls, with which arguments.
DISPATCH: Mapping[str, Run] = {
    "help": _help,
    "watch add": lambda c, t, who: c.watch_add(who, t.arg, t.value("label"), t.flag("alert")),
    "watch list": lambda c, t, who: c.watch_list(who),
    "watch remove": lambda c, t, who: c.watch_remove(who, t.arg),
    "watch test": lambda c, t, who: c.watch_test(who, t.arg),
    "subscribe": lambda c, t, who: c.subscribe(
        who,
        facts=t.value("facts"),
        alerts=t.value("alerts"),
        digest=t.value("digest"),
        timezone=t.value("timezone"),
        mention_role=t.value("mention"),
        quiet=t.value("quiet"),
    ),
    "unsubscribe": lambda c, t, who: c.unsubscribe(who),
    "settings": lambda c, t, who: c.settings(who),
    "resume": lambda c, t, who: c.resume(who),
    "digest now": lambda c, t, who: c.digest_now(who),
    "facts": lambda c, t, who: c.facts(who),
    "fact": lambda c, t, who: c.fact(who, t.arg),
    "why": lambda c, t, who: c.why(who, unwrap_link(t.arg)),
    "feeds list": lambda c, t, who: c.feeds_list(who),
    "feeds add": lambda c, t, who: c.feeds_add(who, unwrap_link(t.arg)),
    "feeds remove": lambda c, t, who: c.feeds_remove(who, t.arg),
    "status": lambda c, t, who: c.status(who),
    "trend": lambda c, t, who: c.trend(who, t.arg or 7),
}


def help_reply() -> Reply:
    """The subcommands in Slack's syntax (options as ``--flags``)."""
    items = tuple(
        ReplyItem(title=f"{COMMAND} {s.usage}", lines=(s.summary + (" (admins)" if s.manage else ""),))
        for s in SUBCOMMANDS
    )
    return Reply(
        title="pactwatch commands",
        body=(
            "Everyone may read; changing settings needs a workspace admin or owner (or a user the "
            "operator listed in slack_admins).",
            'Example: /pactwatch watch add "mutual defense" NEAR/5 treaty --label pact --alert',
        ),
        items=items,
        ephemeral=True,
    )


class AdminCheck:
    """Whether a Slack user may change settings: in ``slack_admins``, or a workspace admin/owner per
    ``users.info`` (remembered for ``cache_seconds``; a failed lookup counts as "no" and is not kept)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        admins: frozenset[str],
        cache_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.admins = admins
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._cache: dict[str, tuple[bool, float]] = {}

    async def __call__(self, user_id: str) -> bool:
        if user_id in self.admins:
            return True
        now = self.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and now - cached[1] < self.cache_seconds:
            return cached[0]
        try:
            resp = await self.client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            log.warning("users.info failed for %s (%s); treating them as not an admin", user_id, exc)
            return False
        user = resp.get("user") or {}
        ok = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (ok, now)
        return ok


def caller_of(body: Mapping[str, Any], *, can_manage: bool) -> Caller:
    """The ``Caller`` of a slash-command payload. In a DM the workspace is still known (tenant set);
    ``in_dm`` keeps channel commands out of it."""
    channel = str(body.get("channel_id") or "")
    channel_name = str(body.get("channel_name") or "")
    in_dm = channel.startswith("D") or channel_name == "directmessage" or channel_name.startswith("mpdm-")
    team = str(body.get("team_id") or "")
    return Caller(
        platform="slack",
        tenant=f"slack:{team}" if team else "",
        channel=channel,
        user_id=str(body.get("user_id") or ""),
        user_name=str(body.get("user_name") or ""),
        can_manage=can_manage,
        in_dm=in_dm,
    )


class SlashCommand:
    """Runs one ``/pactwatch`` invocation after Bolt has acknowledged it."""

    def __init__(
        self, commands: Commands, is_admin: AdminCheck, sink: SlackSink, limits: RenderLimits
    ) -> None:
        self.commands = commands
        self.is_admin = is_admin
        self.sink = sink
        self.limits = limits

    async def reply_to(self, body: Mapping[str, Any]) -> Reply:
        """The command layer's answer to one payload (errors in the text included)."""
        try:
            text = parse_command_text(str(body.get("text") or ""))
        except CommandTextError as exc:
            return error_reply(str(exc), title="Command not understood")
        user_id = str(body.get("user_id") or "")
        caller = caller_of(body, can_manage=await self.is_admin(user_id) if user_id else False)
        run = DISPATCH[text.subcommand.name]
        reply = await self.commands.safely(
            run(self.commands, text, caller), what=f"slack {text.subcommand.name}"
        )
        if reply.attachment is not None and not reply.error:
            problem = await self.sink.upload_png(
                caller.channel,
                reply.attachment.data,
                filename=reply.attachment.filename,
                title=reply.title,
            )
            if problem is not None:
                return error_reply(problem, title="Chart not posted")
        return reply

    def render(self, reply: Reply) -> dict[str, Any]:
        """The ``respond()`` arguments for a reply."""
        message: SlackMessage = render_reply(reply, self.limits)
        return {
            "text": message.text,
            "blocks": list(message.blocks),
            "response_type": "ephemeral" if reply.ephemeral or reply.error else "in_channel",
            "replace_original": False,
            "unfurl_links": False,
            "unfurl_media": False,
        }
