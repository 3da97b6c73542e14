"""Saving what a run holds in memory, for when the store could not take it."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any


def run_to_csv(run: Any, path: str | Path) -> Path:
    """Write every point ``run``'s buffer holds as CSV (``series, step, value,
    time``): full resolution up to the buffer's cap per series, the min/max
    decimated history before that. Returns the path."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        out = csv.writer(f)
        out.writerow(["series", "step", "value", "time"])
        for series in list(run.buffer):
            steps, values, times = series.arrays()
            for s, v, t in zip(steps.tolist(), values.tolist(), times.tolist()):
                out.writerow([series.name, _num(s), repr(v), repr(t)])
    return path


def _num(x: float) -> str:
    return str(int(x)) if math.isfinite(x) and x.is_integer() and abs(x) < 2 ** 63 else repr(x)
