"""The text after ``/pactwatch``: which subcommand, its free text, its ``--options``.

Slack gives a slash command one string. The free text (a query, an id, a URL) is kept exactly as typed,
quotes included, because the query language gives quotes meaning; typographic quotes (“ ” ‘ ’), which
phones and some keyboards insert, are read as straight ones. Options come after the free text, as
``--name value`` (quote a value with spaces) or a bare ``--flag``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Literal

SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'", "‚": "'"})
_TOKEN = re.compile(r'"[^"]*"|\S+')

Positional = Literal["none", "required", "optional"]


@dataclasses.dataclass(frozen=True, slots=True)
class Subcommand:
    path: tuple[str, ...]
    summary: str
    arg: str = ""  # the positional's name in the usage line ("<query>")
    positional: Positional = "none"
    values: tuple[str, ...] = ()  # options taking a value
    flags: tuple[str, ...] = ()  # options taking none
    manage: bool = False  # changes configuration (for the help text; the command layer decides)

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def usage(self) -> str:
        parts = [self.name]
        if self.arg:
            parts.append(self.arg if self.positional == "required" else f"[{self.arg}]")
        parts += [f"[--{v} …]" for v in self.values]
        parts += [f"[--{f}]" for f in self.flags]
        return " ".join(parts)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(("help",), "what each subcommand does"),
    Subcommand(
        ("watch", "add"),
        "watch this channel for a query",
        "<query>",
        "required",
        values=("label",),
        flags=("alert",),
        manage=True,
    ),
    Subcommand(("watch", "list"), "the watches of this channel"),
    Subcommand(("watch", "remove"), "remove a watch", "<id>", "required", manage=True),
    Subcommand(("watch", "test"), "what a query would have matched lately", "<query>", "required"),
    Subcommand(
        ("subscribe",),
        "alerts and digests in this channel",
        values=("facts", "alerts", "digest", "timezone", "mention", "quiet"),
        manage=True,
    ),
    Subcommand(("unsubscribe",), "stop alerts and digests in this channel", manage=True),
    Subcommand(("settings",), "this channel's subscription and watches"),
    Subcommand(("resume",), "resume a paused subscription", manage=True),
    Subcommand(("digest", "now"), "this channel's digest since its last one", manage=True),
    Subcommand(("facts",), "the fact catalog with recent match counts"),
    Subcommand(("fact",), "a fact's latest stories", "<id>", "required"),
    Subcommand(("why",), "why an article matched", "<link or id>", "required"),
    Subcommand(("feeds", "list"), "the feeds and their health"),
    Subcommand(("feeds", "add"), "add a feed for this workspace", "<url>", "required", manage=True),
    Subcommand(("feeds", "remove"), "remove a feed added from chat", "<id>", "required", manage=True),
    Subcommand(("status",), "uptime, feeds, last poll, outbox"),
    Subcommand(("trend",), "a chart of stories per fact per day", "7|30", "optional"),
)
_BY_PATH = {s.path: s for s in SUBCOMMANDS}
_GROUPS = {s.path[0] for s in SUBCOMMANDS if len(s.path) > 1}


class CommandTextError(ValueError):
    """The text could not be read; the message is one sentence saying what to type instead."""


@dataclasses.dataclass(frozen=True, slots=True)
class CommandText:
    subcommand: Subcommand
    arg: str  # the free text, verbatim (stripped); "" when none
    options: Mapping[str, str | bool]

    def value(self, name: str) -> str | None:
        v = self.options.get(name)
        return v if isinstance(v, str) else None

    def flag(self, name: str) -> bool:
        return self.options.get(name) is True


def normalise(raw: str) -> str:
    """Slack's escaping undone (it sends ``&amp;`` ``&lt;`` ``&gt;``), smart quotes straightened."""
    unescaped = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return unescaped.translate(SMART_QUOTES).strip()


def unwrap_link(value: str) -> str:
    """``<https://x|x>`` or ``<https://x>`` (Slack's link formatting) as the bare URL."""
    m = re.fullmatch(r"<([^<>|]+)(?:\|[^<>]*)?>", value.strip())
    return m.group(1) if m else value.strip()


def parse_command_text(raw: str) -> CommandText:
    """Read ``/pactwatch`` text. Raises ``CommandTextError`` with a one-sentence fix."""
    text = normalise(raw)
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    if not tokens:
        return CommandText(_BY_PATH[("help",)], "", {})
    first = tokens[0][0].lower()
    if first in _GROUPS:
        if len(tokens) < 2 or (first, tokens[1][0].lower()) not in _BY_PATH:
            subs = ", ".join(s.path[1] for s in SUBCOMMANDS if s.path[0] == first)
            raise CommandTextError(f"`{first}` needs one of: {subs} (for example `/pactwatch {first} list`).")
        spec = _BY_PATH[(first, tokens[1][0].lower())]
        rest = tokens[2:]
    elif (first,) in _BY_PATH:
        spec = _BY_PATH[(first,)]
        rest = tokens[1:]
    else:
        shown = tokens[0][0][:40]
        raise CommandTextError(f"There is no subcommand `{shown}`; type `/pactwatch help` to see them all.")

    body_start = rest[0][1] if rest else len(text)
    flag_at = next((i for i, tok in enumerate(rest) if tok[0].startswith("--") and len(tok[0]) > 2), None)
    body_end = rest[flag_at][1] if flag_at is not None else len(text)
    arg = text[body_start:body_end].strip() if rest else ""
    options = _parse_options(spec, [tok[0] for tok in rest[flag_at:]] if flag_at is not None else [])

    if spec.positional == "none" and arg:
        raise CommandTextError(
            f"`{spec.name}` takes no text, only options; usage: `/pactwatch {spec.usage}`."
        )
    if spec.positional == "required" and not arg:
        raise CommandTextError(f"`{spec.name}` needs {spec.arg}; usage: `/pactwatch {spec.usage}`.")
    return CommandText(spec, arg, options)


def _parse_options(spec: Subcommand, words: list[str]) -> dict[str, str | bool]:
    options: dict[str, str | bool] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--"):
            raise CommandTextError(
                f"Unexpected `{word[:40]}` after the options; put the text before the first `--option` "
                f"(usage: `/pactwatch {spec.usage}`)."
            )
        name, eq, inline = word[2:].partition("=")
        name = name.lower()
        if name in spec.flags and not eq:
            options[name] = True
            i += 1
            continue
        if name not in spec.values:
            known = ", ".join(f"--{o}" for o in (*spec.values, *spec.flags)) or "none"
            raise CommandTextError(f"`{spec.name}` has no option `--{name[:30]}`; its options are: {known}.")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(words) or words[i + 1].startswith("--"):
                raise CommandTextError(f'`--{name}` needs a value, for example `--{name} "..."`.')
            value = words[i + 1]
            i += 2
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        options[name] = value.strip()
    return options
