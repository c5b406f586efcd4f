"""The small seams shared across pactwatch's layers: the one clock type, the outbox wake-up, the
status callable. Types and a trivial function only; it imports nothing of pactwatch, so any layer may
use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC. Injected everywhere a decision depends on the time."""

Wake = Callable[[], None]
"""Tells the outbox sender that deliveries were planned, so it sends them now instead of at its next
interval."""

StatusFn = Callable[[], Awaitable[dict[str, Any]]]
"""What ``/healthz`` and the ``status`` command report."""


def utc_now() -> datetime:
    return datetime.now(UTC)
