"""``Commands``: the one object adapters hold, combining every feature's commands over the shared gate.

Adapters (Discord, Slack) parse their platform's payload into a ``Caller`` and plain arguments, call one
of these methods, and render the ``Reply``. Each feature lives in its own module — ``watches``,
``subscriptions``, ``feeds``, ``articles`` (facts, fact, why), ``digests`` (digest now, trend) and
``status`` (status, help) — over ``gate.Gate`` (DM check, permission, rate limit, argument checks, error
replies). Tenancy: watches and subscriptions belong to their channel, chat-added feeds to their tenant.
"""

from __future__ import annotations

from bot.commands.articles import ArticleCommands
from bot.commands.digests import DigestCommands
from bot.commands.feeds import FeedCommands
from bot.commands.status import StatusCommands
from bot.commands.subscriptions import SubscriptionCommands
from bot.commands.watches import WatchCommands


class Commands(
    WatchCommands, SubscriptionCommands, FeedCommands, ArticleCommands, DigestCommands, StatusCommands
):
    """The shared command layer. Build one per process: ``Commands(services)``, where ``services`` is
    anything with the members of ``bot.commands.ports.CommandServices`` (the composition root's
    ``Services`` is). One gate, so one set of rate-limit buckets, serves every command."""
