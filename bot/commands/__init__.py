"""The platform-neutral command layer shared by the Discord and Slack adapters.

Usage from an adapter::

    commands = Commands(services)  # anything with the members of CommandServices
    reply = await commands.safely(commands.watch_add(caller, query, label, alert))
    # render `reply` (a plain ``Reply``) for the platform, escaping every text in it

Each command method takes a ``Caller`` and plain arguments and returns a ``Reply``; argument,
permission, DM and rate-limit problems come back as ``Reply(error=True, ephemeral=True)`` — the
methods raise only on bugs or outages, which ``Commands.safely`` turns into a logged error reply.
"""

from bot.commands.core import Commands
from bot.commands.gate import DM_MESSAGE, NO_PERMISSION, ArgumentError
from bot.commands.model import Attachment, Caller, Choice, Platform, Reply, ReplyField, ReplyItem, error_reply
from bot.commands.ports import CommandServices
from bot.commands.ratelimit import TokenBuckets
from bot.commands.status import COMMANDS
from bot.schedule import (
    ScheduleError,
    check_timezone,
    describe_cron,
    parse_digest_schedule,
    parse_quiet_hours,
)

__all__ = [
    "COMMANDS",
    "DM_MESSAGE",
    "NO_PERMISSION",
    "ArgumentError",
    "Attachment",
    "Caller",
    "Choice",
    "CommandServices",
    "Commands",
    "Platform",
    "Reply",
    "ReplyField",
    "ReplyItem",
    "ScheduleError",
    "TokenBuckets",
    "check_timezone",
    "describe_cron",
    "error_reply",
    "parse_digest_schedule",
    "parse_quiet_hours",
]
