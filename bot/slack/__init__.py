"""Slack: ``/pactwatch`` over the shared command layer, Block Kit alerts and digests, a paced and
reconciling Web API sink, Socket Mode or HTTP mode. Imported only when ``SLACK_BOT_TOKEN`` is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.slack.adapter import SlackAdapter, SlackConfigError

if TYPE_CHECKING:
    from bot.app import Core

__all__ = ["SlackAdapter", "SlackConfigError", "make_adapter"]


def make_adapter(services: Core, *, live: bool) -> SlackAdapter:
    """The Slack adapter for ``build_services``: Web API only when ``live`` is False (``poll --once``);
    Socket Mode, or HTTP mode when ``PACTWATCH_SLACK_HTTP_PORT`` is set, once ``start()`` runs."""
    return SlackAdapter(services, live=live)
