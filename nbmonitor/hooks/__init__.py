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
