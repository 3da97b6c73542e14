"""Debiased exponential moving average, as TensorBoard's smoothing slider does."""
from __future__ import annotations

import math

import numpy as np


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Smooth ``values`` with weight in [0, 1); NaN/Inf points are skipped, kept as is."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(values) == 0:
        return values.copy()
    out = np.empty_like(values)
    last = 0.0
    n = 0
    for i, v in enumerate(values.tolist()):
        if not math.isfinite(v):
            out[i] = v
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out[i] = last / (1 - weight ** n)
    return out


MIN_POINTS = 30  # sparser series (per-epoch validation) are drawn unsmoothed


def smoothable(name: str, n_points: int) -> bool:
    """Whether a series gets smoothed: dense ones, and never learning rates."""
    from .grouping import group_of
    return n_points >= MIN_POINTS and group_of(name) != "lr"
