"""Checks of what users hand to nbmonitor: metric names, steps, values, options.

Each check either returns a value nbmonitor can hold or raises one clear error
(``ValueError``/``TypeError``, one line, naming the argument); none is on the
per-point hot path but for a series' first point.
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Iterable

INT64_MAX = (1 << 63) - 1

# name: (low, high, what) of each numeric option of a monitored run.
RANGES: dict[str, tuple[float, float, str]] = {
    "refresh_hz": (1e-3, 60.0, "refreshes per second"),
    "sample_every": (0.01, 86400.0, "seconds between meter readings"),
    "max_points": (10, 1_000_000, "points per chart"),
    "total_steps": (1, INT64_MAX, "steps"),
    "epochs": (1, INT64_MAX, "epochs"),
}


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10 ** 30 else \
        f"an integer of {len(str(abs(value)))} digits"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def metric_name(name: str) -> str:
    """``name`` when the store can keep it; a lone surrogate is refused."""
    if not isinstance(name, str):
        raise TypeError(f"nbmonitor.log: a metric name is a string, not {_show(name)}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"nbmonitor.log: metric name {_show(name)} is not valid text "
                         f"({e.reason} at {e.start})") from None
    if not name:
        raise ValueError("nbmonitor.log: a metric name cannot be empty")
    return name


def too_big(name: str, value: Any) -> ValueError:
    """The error for a number beyond float64 (``10**400``)."""
    label = name if name == "step" else f"metric {_show(name)}"
    return ValueError(f"nbmonitor.log: {label} = {_show(value)} does not fit in a float64 "
                      "(|x| < 1.8e308); pass float(x) to record it as inf")


def step(value: Any) -> float:
    """``log(step=...)`` as a float (``inf`` and NaN are kept as given)."""
    try:
        return float(value)
    except OverflowError:
        raise too_big("step", value) from None
    except (TypeError, ValueError):
        raise TypeError(f"nbmonitor.log: step={_show(value)} is not a number") from None


def advance(run: Any, value: float) -> None:
    """Move ``run.step`` to ``value`` when it is further and finite (clipped to int64)."""
    if value > run.step and value < math.inf:
        run.step = min(int(value), INT64_MAX)


def option(name: str, value: Any, integer: bool = False) -> Any:
    """A numeric option checked against :data:`RANGES`; None stays None."""
    if value is None:
        return None
    low, high, what = RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name} must be a number of {what}, not {_show(value)}") from None
    if integer and (not float(value).is_integer() if isinstance(value, float) else False):
        raise ValueError(f"{name} must be a whole number of {what}, not {_show(value)}")
    if not (low <= value <= high):
        hi = f"{high:g}" if high < INT64_MAX else "any"
        raise ValueError(f"{name} must be between {low:g} and {hi} {what}, "
                         f"not {_show(value)}")
    return int(value) if integer else float(value)


def keywords(fn_name: str, given: Iterable[str], known: Iterable[str]) -> None:
    """One clear line for unknown keyword arguments, with the closest known ones."""
    known = list(known)
    bad = [k for k in given if k not in known]
    if not bad:
        return
    hints = []
    for k in bad:
        close = difflib.get_close_matches(k, known, n=1)
        hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise TypeError(f"{fn_name}: unknown option {', '.join(hints)}; options are "
                    + ", ".join(known))
