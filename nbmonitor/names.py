"""Names as shown: truncated for display, kept whole in the data.

A metric or run name can be any length (a 50,000-character name is legal); charts,
legends, tables and messages show at most ``LIMIT`` characters of it, with an
ellipsis, so drawing stays fast whatever a name holds.
"""
from __future__ import annotations

LIMIT = 80


def short(text: object, limit: int = LIMIT) -> str:
    """``text`` as one line of at most ``limit`` characters (``…`` marks a cut;
    control characters such as newlines are shown escaped)."""
    s = text if isinstance(text, str) else str(text)
    cut = len(s) > limit
    s = s[:limit]
    if not s.isprintable():  # repr escapes newlines, control characters, lone surrogates
        s = repr(s)[1:-1]
    return s[:limit - 1] + "\u2026" if cut or len(s) > limit else s
