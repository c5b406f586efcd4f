"""The shared gate every command goes through: DM check, permission, rate limit, argument checks, and the
mapping of the errors a user can fix (query, argument, schedule, quota) to one-sentence replies.

Rules every command follows here, not in the adapters:

- Changing anything needs ``caller.can_manage``; reading is open. Configuration replies are ephemeral.
- Channel-scoped commands in a DM answer "use this in a server channel".
- Every argument is checked (length, form) and a per-user and per-channel token bucket limits floods.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from bot.commands.model import Caller, Choice, Reply, error_reply
from bot.commands.ports import CommandServices
from bot.commands.ratelimit import TokenBuckets
from bot.invisible import strip_invisible
from bot.schedule import ScheduleError
from bot.settings import Settings
from bot.store.repo import QuotaError, SubscriptionRow

log = logging.getLogger(__name__)

MAX_CHOICES = 25
ID = re.compile(r"^#?\s*(\d{1,12})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

DM_MESSAGE = (
    "This command works in a server channel, not in direct messages; run it in the channel it is for."
)
NO_PERMISSION = (
    "Changing pactwatch's settings needs the Manage Server permission (on Slack: a workspace admin); "
    "ask someone who has it."
)
INTERNAL_ERROR = (
    "Something went wrong on pactwatch's side; try again in a minute, and tell the operator if it keeps "
    "happening."
)


class ArgumentError(ValueError):
    """A command argument the user must fix; ``str()`` is one sentence."""


class NotSubscribedError(Exception):
    """The command needs this channel's subscription and there is none."""


class Gate:
    """The base of every feature's commands: the services, the rate limiter, and the checks.

    ``Commands`` combines the feature classes over this one base, so a process has one set of token
    buckets whichever command runs."""

    def __init__(self, svc: CommandServices, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.svc = svc
        s = svc.settings
        self.users = TokenBuckets(
            burst=s.command_user_burst, per_minute=s.command_user_per_minute, clock=monotonic
        )
        self.channels = TokenBuckets(
            burst=s.command_channel_burst, per_minute=s.command_channel_per_minute, clock=monotonic
        )

    @property
    def _cfg(self) -> Settings:
        return self.svc.settings

    def _now(self) -> datetime:
        return self.svc.clock()

    def gate(self, caller: Caller, *, manage: bool = False, channel: bool = False) -> Reply | None:
        """The checks every command makes first: DM, permission, rate. None when it may run."""
        if (channel or manage) and (caller.in_dm or not caller.tenant):
            return error_reply(DM_MESSAGE, title="Use this in a server channel")
        if manage and not caller.can_manage:
            return error_reply(NO_PERMISSION, title="Missing permission")
        user_key = f"{caller.platform}:{caller.user_id}"
        chan_key = f"{caller.platform}:{caller.channel}"
        wait = max(self.users.wait_time(user_key), self.channels.wait_time(chan_key))
        if wait > 0:
            return error_reply(
                f"Commands are coming too fast here; try again in {max(1, round(wait))} seconds.",
                title="Slow down",
            )
        self.users.take(user_key)
        self.channels.take(chan_key)
        return None

    async def safely(self, run: Awaitable[Reply], *, what: str = "command") -> Reply:
        """Await a command; a bug or an outage becomes a logged error and a one-sentence reply."""
        try:
            return await run
        except Exception:
            log.exception("%s failed", what)
            return error_reply(INTERNAL_ERROR)

    async def _run(self, caller: Caller, body: Callable[[], Awaitable[Reply]], **gate: bool) -> Reply:
        """Run a command's body behind the gate; the errors a user can fix become replies."""
        blocked = self.gate(caller, **gate)
        if blocked is not None:
            return blocked
        from bot.matching.query import QueryError, QueryTooComplex

        try:
            return await body()
        except QueryTooComplex as exc:
            return error_reply(str(exc), title="Query too complex")
        except QueryError as exc:
            return error_reply(str(exc), title="Query not understood")
        except (ArgumentError, ScheduleError) as exc:
            return error_reply(str(exc), title="Check the arguments")
        except QuotaError as exc:
            return error_reply(_sentence(str(exc)), title="Limit reached")
        except NotSubscribedError:
            return error_reply(
                "This channel has no subscription; run subscribe first.", title="Not subscribed"
            )

    # --- argument checks -----------------------------------------------------------------------

    def _text(self, value: str | None, what: str, *, limit: int | None = None) -> str:
        value = (value or "").strip()
        limit = limit or self._cfg.command_arg_max_chars
        if len(value) > limit:
            raise ArgumentError(f"The {what} is {len(value)} characters long; keep it under {limit + 1}.")
        if _CONTROL.search(value):
            raise ArgumentError(f"The {what} contains control characters; type it again as plain text.")
        return value

    def _id(self, value: str | int, what: str, listing: str) -> int:
        m = ID.match(str(value).strip())
        if not m or int(m.group(1)) == 0:
            raise ArgumentError(f"'{str(value)[:40]}' is not a {what} id; run {listing} to see the ids.")
        return int(m.group(1))

    def _check_query(self, query: str) -> str:
        """The query as stored: without invisible characters (bidirectional controls, zero-width), its
        spaces collapsed; it must parse within the limits, ``query_max_cost`` included."""
        from bot.matching.query import WatchLimits, parse_query

        limits = WatchLimits.of(self._cfg)
        query = " ".join(self._text(strip_invisible(query or ""), "query", limit=limits.max_chars).split())
        if not query:
            raise ArgumentError(
                "The query is empty; give words to look for, like: treaty AND (Kursk OR troops)."
            )
        parse_query(query, max_chars=limits.max_chars, max_depth=limits.max_depth, max_cost=limits.max_cost)
        return query

    async def _subscription(self, caller: Caller) -> SubscriptionRow:
        """This channel's subscription; raises ``NotSubscribedError`` (a reply) when it has none."""
        sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
        if sub is None:
            raise NotSubscribedError
        return sub

    def _wake_outbox(self) -> None:
        self.svc.wake_outbox()


def choices(prefix: str, candidates: Iterable[tuple[str, str]]) -> list[Choice]:
    """Autocomplete: the (value, shown name) pairs whose value or name contains ``prefix``, at most 25.
    (No rate limit for these: they fire on every keystroke; callers scope the candidates.)"""
    p = prefix.strip().lstrip("#").lower()[:100]
    out = [
        Choice(value=value, name=clip(name, 100))
        for value, name in candidates
        if not p or p in value.lower() or p in name.lower()
    ]
    return out[:MAX_CHOICES]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
