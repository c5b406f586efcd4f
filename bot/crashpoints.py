"""Named points where the crash test kills the process, to prove delivery survives a crash anywhere.

``PACTWATCH_CRASHPOINT=name`` (or ``name:N`` for its N-th hit, counting from 1) makes ``crashpoint(name)``
kill the process with SIGKILL there: no cleanup, no flush, no ``finally`` — like a power cut. Unset (the
only state in production), each call is a dictionary lookup on a value read once at import.
"""

from __future__ import annotations

import os
import signal

ENV = "PACTWATCH_CRASHPOINT"


def _parse(raw: str) -> tuple[str, int] | None:
    name, _, nth = raw.strip().partition(":")
    if not name:
        return None
    return name, int(nth) if nth.isdigit() and int(nth) > 0 else 1


_TARGET = _parse(os.environ.get(ENV, ""))
_hits = 0


def crashpoint(name: str) -> None:
    """Die here (SIGKILL) when ``PACTWATCH_CRASHPOINT`` names this point and this is its chosen hit."""
    global _hits
    if _TARGET is None or _TARGET[0] != name:
        return
    _hits += 1
    if _hits == _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
