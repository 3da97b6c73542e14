"""Holding Ctrl-C while a run closes, so a second one cannot leave it half closed.

Inside :func:`deferred_interrupts` on the main thread, SIGINT only sets a flag
(with one message); the caller decides afterwards whether to raise it (the count
of presses is yielded). A third Ctrl-C is also held: closing takes seconds at most, and a
store that does not answer is given up by the writer itself. Elsewhere (a worker
thread, a handler that is not Python's) the block runs unchanged.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def deferred_interrupts(message: str) -> Iterator[list[int]]:
    """Hold SIGINT for the block; yields a list holding the number of presses."""
    presses = [0]
    if threading.current_thread() is not threading.main_thread():
        yield presses
        return

    def held(signum, frame) -> None:
        presses[0] += 1
        if presses[0] == 1:
            try:
                print(f"\nnbmonitor: interrupted; {message}", file=sys.stderr)
            except Exception:
                pass

    try:
        previous = signal.signal(signal.SIGINT, held)
    except (ValueError, OSError, TypeError):  # not allowed here: run unchanged
        yield presses
        return
    try:
        yield presses
    finally:
        try:
            signal.signal(signal.SIGINT, previous)
        except (ValueError, OSError, TypeError):
            pass
