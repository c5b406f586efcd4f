"""What a command receives (``Caller``) and returns (``Reply``): plain data, no platform types.

Every text in a ``Reply`` is plain text — including feed headlines and user-written labels — and each
platform's renderer escapes it for its own markup, so no command can produce a mention or a link by
accident.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bot.models import Evidence
from bot.models import Platform as Platform  # re-exported: the one definition is bot.models'


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    """Who runs a command, and where.

    ``tenant`` is ``"discord:<guild_id>"`` or ``"slack:<team_id>"``, empty in a DM. ``can_manage`` is
    decided by the adapter (Manage Server on Discord; workspace admin or ``slack_admins`` on Slack).
    """

    platform: Platform
    tenant: str
    channel: str
    user_id: str
    user_name: str = ""
    can_manage: bool = False
    in_dm: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyField:
    """A short name/value pair (a setting, a count)."""

    name: str
    value: str
    inline: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyItem:
    """One entry of a list in a reply: a story, a watch, a feed, a fact.

    ``url`` links the title; ``lines`` are detail lines; ``evidence`` is rendered with its highlights;
    ``time`` is shown in each reader's own time zone where the platform can.
    """

    title: str
    url: str | None = None
    lines: tuple[str, ...] = ()
    evidence: Evidence | None = None
    time: datetime | None = None
    ref: str | None = None  # an id the user can type back (watch id, feed id, fact id)


@dataclasses.dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "image/png"


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer. ``ephemeral``: only the caller sees it. ``error``: something was wrong with
    the request; ``body[0]`` is then one sentence saying what and what to do."""

    title: str
    body: tuple[str, ...] = ()
    fields: tuple[ReplyField, ...] = ()
    items: tuple[ReplyItem, ...] = ()
    footer: str | None = None
    ephemeral: bool = False
    error: bool = False
    attachment: Attachment | None = None

    @property
    def text(self) -> str:
        """Plain-text rendering (console, fallbacks, tests)."""
        out = [self.title, *self.body]
        out += [f"{f.name}: {f.value}" for f in self.fields]
        for it in self.items:
            head = f"- {it.title}" + (f" <{it.url}>" if it.url else "")
            if it.ref:
                head = f"- [{it.ref}] {it.title}" + (f" <{it.url}>" if it.url else "")
            out.append(head)
            out += [f"  {line}" for line in it.lines]
            if it.evidence is not None:
                out.append("  why: " + it.evidence.marked("[", "]"))
        if self.footer:
            out.append(self.footer)
        return "\n".join(out)


def error_reply(message: str, *, title: str = "That did not work") -> Reply:
    """An error for the caller alone: ``message`` is one sentence saying what is wrong and what to do."""
    return Reply(title=title, body=(message,), ephemeral=True, error=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    """One autocomplete suggestion: ``value`` is what the command receives, ``name`` what is shown."""

    value: str
    name: str
