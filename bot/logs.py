"""Logging to stderr, with every configured secret redacted from every record, traceback included."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"


class SecretRedactor(logging.Filter):
    """Replaces each secret's text wherever it would appear in a formatted record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.scrub(formatted)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class RepeatLimiter(logging.Filter):
    """Lets a warning or error through once per ``window`` seconds: the same logger, level, message
    template and first argument (the feed, the error) is held back within the window, and the next one
    that passes says how many were held. A failing database then costs one line a minute, not thousands,
    while each feed's own failures still show."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.window <= 0:
            return True
        first = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        key = (record.name, record.levelno, f"{record.msg}\x00{first}")
        now = self.clock()
        seen = self._last.get(key)
        if seen is not None and now - seen[0] < self.window:
            self._last[key] = (seen[0], seen[1] + 1)
            return False
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} (and {seen[1]} more like it in the last {self.window:g} s)"
        return True


def configure_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), repeat_window: float = 60.0
) -> SecretRedactor:
    """Send logs to stderr (stdout carries only results) and redact ``secrets`` from them."""
    redactor = SecretRedactor(secrets)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_pactwatch", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._pactwatch = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatLimiter(repeat_window))
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # An exception that escapes everything would be printed by Python's own hook, unredacted: log it.
    sys.excepthook = lambda kind, exc, tb: logging.getLogger("pactwatch").critical(
        "pactwatch stopped on an unexpected error", exc_info=(kind, exc, tb)
    )
    for noisy in (
        "aiohttp.access",
        "alembic",
        "apscheduler.executors.default",
        "apscheduler.scheduler",
        "discord.gateway",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor
