"""Messages on stderr that the text progress line does not swallow.

The text frontend redraws one ``\\r`` line on stderr; a message written in the
middle of it would be overwritten by the next redraw. :func:`say` ends that line
first (a terminal gets it erased, anything else a newline), so each message stands
on a line of its own and the progress line is redrawn below it.
"""
from __future__ import annotations

import sys

line_open = False  # a text progress line is drawn and not ended (set by TextProgress)


def say(message: str) -> None:
    """Print ``message`` (one line) on stderr, clear of the progress line."""
    global line_open
    stream = sys.stderr
    prefix = ""
    if line_open:
        try:
            prefix = "\r\x1b[K" if stream.isatty() else "\n"
        except Exception:
            prefix = "\n"
        line_open = False
    try:
        stream.write(prefix + message + "\n")
        stream.flush()
    except Exception:
        pass
