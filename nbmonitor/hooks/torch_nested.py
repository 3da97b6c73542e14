"""Tell a nested optimizer step from a real one.

torch wraps every optimizer class's ``step`` that has been instantiated, so a
subclass whose ``step`` calls ``super().step()`` (the parent class wrapped too,
once any instance of it exists) fires the global step hooks twice per step. The
inner call is recognised by an outer torch step wrapper of the same optimizer on
the stack; that walk is done only when a step of this optimizer already seems in
flight, so a plain step pays nothing.
"""
from __future__ import annotations

import sys

import torch.optim.optimizer as _optimizer

_FILE = _optimizer.__file__


def inside_own_step(optimizer: object) -> bool:
    """True when the step hook being run belongs to a ``step`` called from within
    another wrapped ``step`` of the same ``optimizer``."""
    frame = sys._getframe(1)
    wrappers = 0
    while frame is not None:
        code = frame.f_code
        if code.co_name == "wrapper" and code.co_filename == _FILE \
                and frame.f_locals.get("self") is optimizer:
            wrappers += 1
            if wrappers > 1:
                return True
        frame = frame.f_back
    return False


class NestedSteps:
    """Per optimizer, how many inner step calls have yet to reach their post hook."""

    def __init__(self) -> None:
        self._open: dict[int, int] = {}

    def enter(self, optimizer: object, stepping: int | None) -> bool:
        """At a pre-step hook: True (skip it) for an inner step. ``stepping`` is the
        id of the optimizer whose outer pre hook ran without its post hook yet."""
        key = id(optimizer)
        if stepping == key and inside_own_step(optimizer):
            self._open[key] = self._open.get(key, 0) + 1
            return True
        self._open.pop(key, None)  # a step that raised left no inner call open
        return False

    def leave(self, optimizer: object) -> bool:
        """At a post-step hook: True (skip it) for an inner step's."""
        key = id(optimizer)
        n = self._open.get(key, 0)
        if n:
            self._open[key] = n - 1
            return True
        return False
