"""Characters that change how text looks without being seen: bidirectional controls (which can reorder a
headline or a query so it reads differently from what it is) and zero-width characters (which hide
inside words). Feed and user text shown in chat, and watch queries, pass through ``strip_invisible``."""

from __future__ import annotations

INVISIBLE = frozenset(
    "\u061c"  # ARABIC LETTER MARK
    "\u180e"  # MONGOLIAN VOWEL SEPARATOR
    "\u200b\u200c\u200d"  # ZERO WIDTH SPACE, NON-JOINER, JOINER
    "\u200e\u200f"  # LEFT-TO-RIGHT and RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, overrides and their POP
    "\u2060"  # WORD JOINER
    "\u2066\u2067\u2068\u2069"  # isolates and their POP
    "\ufeff"  # ZERO WIDTH NO-BREAK SPACE (a BOM inside text)
)
_TABLE = dict.fromkeys(map(ord, INVISIBLE))


def strip_invisible(text: str) -> str:
    """``text`` without bidirectional controls and zero-width characters."""
    return text.translate(_TABLE)
