"""A trial's objective value: what the training function returned or logged, as a
float, or a clear reason why it is not one (a string, a bool, a number no float
holds). The trial then fails with that reason and the sweep goes on."""
from __future__ import annotations

import numbers
from typing import Any

from ..run import Run


def objective_value(result: Any, run: Run, objective: str) -> float | None:
    """The trial's objective: the number the function returned, ``result[objective]``
    for a dict, else the last value of the ``objective`` series. TypeError for what
    is not a number (a string such as ``"0.5"``, a bool), ValueError for a number no
    float holds (``10**400``)."""
    if isinstance(result, dict) and objective in result:
        result = result[objective]
    if result is not None and not isinstance(result, dict):
        return as_number(result)
    if objective in run.buffer and run.buffer.series(objective).count:
        return run.buffer.series(objective).last_value
    return None


def as_number(value: Any) -> float:
    """``value`` as a float when it is a number (a 0-d tensor or array too)."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    kind = type(value).__name__
    if isinstance(value, (str, bytes, bool)) or type(value).__name__ in ("bool", "bool_"):
        raise TypeError(f"the training function returned {shown} (a {kind}), not a number")
    if not isinstance(value, numbers.Number) and not hasattr(value, "__float__"):
        raise TypeError(f"the training function returned {shown} (a {kind}), not a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"the objective {shown} is too large for a float") from None
    except (TypeError, ValueError):
        raise TypeError(f"the training function returned {shown} (a {kind}), "
                        "not a number") from None
    return number
