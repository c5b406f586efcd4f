"""Logging to stderr, with every configured secret redacted from every record, traceback included."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

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


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> SecretRedactor:
    """Send logs to stderr (stdout carries only results) and redact ``secrets`` from them."""
    redactor = SecretRedactor(secrets)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_pactwatch", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._pactwatch = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
