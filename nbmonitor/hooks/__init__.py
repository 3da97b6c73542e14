"""Framework adapters. Each is ``install(run) -> Handle`` with ``handle.remove()``.

Hooks only write to the run (counters and buffer); they never import widgets.
"""
from __future__ import annotations

from typing import Protocol


class Handle(Protocol):
    """What an installed hook returns: one call undoes every patch it made."""

    def remove(self) -> None: ...


class StopRun(Exception):
    """Raised at a step boundary when the run was asked to stop."""


def undo_all(removers: list) -> list[Exception]:
    """Run every undo callable, newest first, even when some fail; return the failures."""
    errors = []
    for undo in reversed(removers):
        try:
            undo()
        except Exception as e:  # keep undoing the rest
            errors.append(e)
    removers.clear()
    return errors
