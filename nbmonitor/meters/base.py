"""The meter contract: a pure ``read() -> dict[str, float]`` plus notes.

A meter reads a device or the system and returns plain numbers keyed by series
name (``sys/cpu``, ``gpu0/util``). It never touches the buffer, the run or any
widget: the :class:`~nbmonitor.meters.sampler.Sampler` records what it returns.
When a meter cannot read (no driver, a device lost), it says so once by
appending a short line to :attr:`Meter.notes` and returns fewer keys, or none;
``read`` should not raise, and the sampler turns an exception into a note too.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Meter(Protocol):
    """Anything with ``name``, ``notes`` and ``read()`` is a meter."""

    name: str
    notes: list[str]

    def read(self) -> dict[str, float]:
        """One reading: series name -> value. Cheap (well under a millisecond)."""
        ...


class BaseMeter:
    """Convenience base: a name and a de-duplicated, append-only list of notes."""

    name = "meter"

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        """Add ``message`` to :attr:`notes` unless it is already there."""
        if message not in self.notes:
            self.notes.append(message)

    def read(self) -> dict[str, float]:  # pragma: no cover - abstract
        """One reading; subclasses override."""
        raise NotImplementedError
