"""Digest schedules as users type them, turned into one standard 5-field crontab.

Accepted: ``08:00`` (every day), ``weekdays 08:00``, ``weekends 08:00``, or a 5-field crontab
(``0 8 * * 1-5``) with standard numbering (day-of-week 0 and 7 are Sunday). Stored as the crontab in
``subscriptions.digest_cron``; the digest scheduler translates day-of-week for APScheduler.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_DAY_WORDS = {"daily": "*", "weekdays": "1-5", "weekends": "0,6"}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_OFF = ("off", "none", "no", "disable", "disabled")


class ScheduleError(ValueError):
    """A schedule or time zone the user typed that cannot be used; ``str()`` is one sentence."""


def parse_digest_schedule(text: str) -> str | None:
    """The crontab for ``text``; ``None`` for "off". Raises ``ScheduleError``."""
    raw = " ".join(text.strip().split()).lower()
    if not raw:
        raise ScheduleError(
            "The digest schedule is empty; give a time like 08:00, 'weekdays 08:00' or a crontab."
        )
    if raw in _OFF:
        return None
    words = raw.split(" ")
    if len(words) == 1 and _HHMM.match(words[0]):
        return _at(words[0], "*")
    if len(words) == 2 and words[0] in _DAY_WORDS and _HHMM.match(words[1]):
        return _at(words[1], _DAY_WORDS[words[0]])
    if len(words) == 5:
        for value, (name, low, high, names) in zip(words, _FIELDS, strict=True):
            _check_field(value, name, low, high, names)
        return " ".join(words)
    raise ScheduleError(
        f"'{text.strip()[:60]}' is not a schedule; use 08:00 (daily), 'weekdays 08:00', or a 5-field "
        "crontab such as '0 8 * * 1-5'."
    )


def _at(hhmm: str, dow: str) -> str:
    m = _HHMM.match(hhmm)
    assert m is not None
    return f"{int(m.group(2))} {int(m.group(1))} * * {dow}"


def _check_field(value: str, name: str, low: int, high: int, names: dict[str, int]) -> None:
    def number(tok: str) -> int:
        if tok in names:
            return names[tok]
        if not tok.isdigit():
            raise ScheduleError(f"The crontab's {name} field has '{tok}', which is not a number.")
        n = int(tok)
        if not low <= n <= high:
            raise ScheduleError(f"The crontab's {name} field allows {low}–{high}, not {n}.")
        return n

    for part in value.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ScheduleError(f"The crontab's {name} field has step '/{step}'; use a positive number.")
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        a = number(start)
        if dash and number(end) < a:
            raise ScheduleError(f"The crontab's {name} field has range '{base}', which runs backwards.")


def check_timezone(name: str) -> str:
    """The IANA zone name, checked. Raises ``ScheduleError``."""
    name = name.strip()
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        raise ScheduleError(f"'{name[:64]}' is not a time zone; use an IANA name like Asia/Seoul or UTC.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"'{name}' is not a time zone; use an IANA name like Asia/Seoul, Europe/Moscow or UTC."
        ) from None
    return name


def describe_cron(cron: str) -> str:
    """A short human reading of the crontabs this module produces; others are shown as is."""
    parts = cron.split()
    if len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2:4] == ["*", "*"]:
        at = f"{int(parts[1]):02d}:{int(parts[0]):02d}"
        days = {"*": "every day", "1-5": "weekdays", "0,6": "weekends"}.get(parts[4])
        if days:
            return f"{days} at {at}"
    return f"cron '{cron}'"


_QUIET = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


def parse_quiet_hours(text: str) -> tuple[str, str] | None:
    """``"22:00-07:00"`` → (start, end); "off" → None. Raises ``ScheduleError``."""
    raw = text.strip().lower()
    if raw in _OFF:
        return None
    m = _QUIET.match(raw)
    if not m:
        raise ScheduleError(
            f"'{text.strip()[:40]}' is not a quiet-hours range; use HH:MM-HH:MM like 22:00-07:00."
        )
    a, b, c, d = (int(x) for x in m.groups())
    return f"{a:02d}:{b:02d}", f"{c:02d}:{d:02d}"
