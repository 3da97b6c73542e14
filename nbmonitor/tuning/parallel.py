"""Parallel coordinates as plain data: one axis per hyperparameter and one for the
objective, every value mapped to [0, 1] (log axes for log ranges, categories evenly
spaced). The bqplot chart and the static snapshot both draw this."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .space import Param, Uniform


@dataclass
class AxisSpec:
    """One axis: ``kind`` is ``linear``, ``log`` or ``category``; ``low``/``high``
    the values at 0 and 1 (for a category axis: 0 and len(categories) - 1)."""

    name: str
    kind: str
    low: float
    high: float
    categories: list[str] = field(default_factory=list)

    def ticks(self, n: int = 5) -> tuple[list[float], list[str]]:
        """Tick positions in [0, 1] and their labels: round values (1-2-5 steps),
        decades on a log axis, every category."""
        if self.kind == "category":
            k = max(1, len(self.categories) - 1)
            return [i / k for i in range(len(self.categories))], list(self.categories)
        if self.kind == "log":
            lo, hi = math.log10(self.low), math.log10(self.high)
            decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
            if len(decades) < 2:
                vals = [self.low, self.high]
            else:
                vals = [10.0 ** d for d in decades]
            span = hi - lo or 1.0
            return ([(math.log10(v) - lo) / span for v in vals], [f"{v:.3g}" for v in vals])
        vals = nice_ticks(self.low, self.high, n)
        span = self.high - self.low or 1.0
        return [(v - self.low) / span for v in vals], [f"{v:.4g}" for v in vals]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) within [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out or [lo]


@dataclass
class Parallel:
    """``y[i, j]``: trial ``i`` on axis ``j`` in [0, 1] (NaN when missing)."""

    axes: list[str]
    y: np.ndarray
    objective: np.ndarray  # the raw objective per trial (NaN when none)
    trials: list[int]
    ticks: list[tuple[str, str]]  # per axis: label at 0, label at 1
    specs: list[AxisSpec] = field(default_factory=list)


def _scale(values: list[Any], param: Param | None, name: str = ""
           ) -> tuple[np.ndarray, tuple[str, str], AxisSpec]:
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
            and v is not None and math.isfinite(v)]
    if param is not None and not isinstance(param, Uniform) and hasattr(param, "choices"):
        cats = [repr(c) if not isinstance(c, str) else c for c in param.choices]
    elif len(nums) != len([v for v in values if v is not None
                           and not (isinstance(v, float) and math.isnan(v))]):
        cats = sorted({str(v) for v in values if v is not None})
    else:
        cats = None
    if cats is not None:
        key = [repr(v) if not isinstance(v, str) else v for v in values]
        pos = {c: i for i, c in enumerate(cats)}
        n = max(1, len(cats) - 1)
        y = np.array([pos[k] / n if k in pos else np.nan for k in key], float)
        return y, (cats[0], cats[-1]), AxisSpec(name, "category", 0, n, cats)
    x = np.array([np.nan if v is None else float(v) for v in values], float)
    log = isinstance(param, Uniform) and param.log
    if isinstance(param, Uniform) or (param is not None and hasattr(param, "low")):
        lo, hi = float(param.low), float(param.high)
    else:
        finite = x[np.isfinite(x)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if hi <= lo:  # one value: a range around it
            pad = abs(lo) * 0.1 or 1.0
            lo, hi = lo - pad, hi + pad
    spec = AxisSpec(name, "log" if log else "linear", lo, hi)
    if log:
        x, lo, hi = np.log10(np.where(x > 0, x, np.nan)), math.log10(lo), math.log10(hi)
        labels = (f"{10 ** lo:.3g}", f"{10 ** hi:.3g}")
    else:
        labels = (f"{lo:.3g}", f"{hi:.3g}")
    span = hi - lo if hi > lo else 1.0
    return (x - lo) / span, labels, spec


def parallel(df: Any, space: dict[str, Param], objective: str) -> Parallel:
    """The parallel coordinates of the searched parameters and the objective of the
    trials in ``df`` (a :attr:`Tuner.results` frame) that have an objective value."""
    names = [n for n, p in space.items() if p.searched] or list(space)
    rows = df[df[objective].notna()] if len(df) else df
    columns, ticks, specs = [], [], []
    for name in names:
        y, t, s = _scale(list(rows[name]) if len(rows) else [], space.get(name), name)
        columns.append(y)
        ticks.append(t)
        specs.append(s)
    obj = rows[objective].to_numpy(float) if len(rows) else np.zeros(0)
    y, t, s = _scale(list(obj), None, objective)
    columns.append(y)
    ticks.append(t)
    specs.append(s)
    matrix = np.column_stack(columns) if len(rows) else np.zeros((0, len(names) + 1))
    return Parallel([*names, objective], matrix, obj,
                    [int(v) for v in rows["trial"]] if len(rows) else [], ticks, specs)
