"""Parallel coordinates as plain data: one axis per hyperparameter and one for the
objective, every value mapped to [0, 1] (log axes for log ranges, categories evenly
spaced). The bqplot chart and the static snapshot both draw this."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .space import Param, Uniform


@dataclass
class Parallel:
    """``y[i, j]``: trial ``i`` on axis ``j`` in [0, 1] (NaN when missing)."""

    axes: list[str]
    y: np.ndarray
    objective: np.ndarray  # the raw objective per trial (NaN when none)
    trials: list[int]
    ticks: list[tuple[str, str]]  # per axis: label at 0, label at 1


def _scale(values: list[Any], param: Param | None) -> tuple[np.ndarray, tuple[str, str]]:
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
            and v is not None and math.isfinite(v)]
    if param is not None and not isinstance(param, Uniform) and hasattr(param, "choices"):
        cats = [repr(c) if not isinstance(c, str) else c for c in param.choices]
    elif len(nums) != len([v for v in values if v is not None]):
        cats = sorted({str(v) for v in values if v is not None})
    else:
        cats = None
    if cats is not None:
        key = [repr(v) if not isinstance(v, str) else v for v in values]
        pos = {c: i for i, c in enumerate(cats)}
        n = max(1, len(cats) - 1)
        y = np.array([pos[k] / n if k in pos else np.nan for k in key], float)
        return y, (cats[0], cats[-1])
    x = np.array([np.nan if v is None else float(v) for v in values], float)
    log = isinstance(param, Uniform) and param.log
    if isinstance(param, Uniform) or (param is not None and hasattr(param, "low")):
        lo, hi = float(param.low), float(param.high)
    else:
        finite = x[np.isfinite(x)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if log:
        x, lo, hi = np.log10(np.where(x > 0, x, np.nan)), math.log10(lo), math.log10(hi)
        labels = (f"{10 ** lo:.3g}", f"{10 ** hi:.3g}")
    else:
        labels = (f"{lo:.3g}", f"{hi:.3g}")
    span = hi - lo if hi > lo else 1.0
    return (x - lo) / span, labels


def parallel(df: Any, space: dict[str, Param], objective: str) -> Parallel:
    """The parallel coordinates of the searched parameters and the objective of the
    trials in ``df`` (a :attr:`Tuner.results` frame) that have an objective value."""
    names = [n for n, p in space.items() if p.searched] or list(space)
    rows = df[df[objective].notna()] if len(df) else df
    columns, ticks = [], []
    for name in names:
        y, t = _scale(list(rows[name]) if len(rows) else [], space.get(name))
        columns.append(y)
        ticks.append(t)
    obj = rows[objective].to_numpy(float) if len(rows) else np.zeros(0)
    y, t = _scale(list(obj), None)
    columns.append(y)
    ticks.append(t)
    matrix = np.column_stack(columns) if len(rows) else np.zeros((0, len(names) + 1))
    return Parallel([*names, objective], matrix, obj,
                    [int(v) for v in rows["trial"]] if len(rows) else [], ticks)
