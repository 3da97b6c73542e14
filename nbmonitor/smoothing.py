"""Debiased exponential moving average, as TensorBoard's smoothing slider does."""
from __future__ import annotations

import math

import numpy as np


_BLOCK = 64


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Smooth ``values`` with weight in [0, 1); NaN/Inf points are skipped, kept as is.

    Finite input is smoothed block by block with a small matrix product (the
    recurrence unrolled over 64 points), which is exact and a few times faster than
    a Python loop on the refresher thread."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(values) == 0:
        return values.copy()
    if not np.isfinite(values).all():
        return _ema_loop(values, weight)
    k = np.arange(_BLOCK)
    lower = np.tril(weight ** (k[:, None] - k[None, :]).clip(0)) * (1 - weight)
    decay = weight ** (k + 1)
    out = np.empty(len(values))
    last = 0.0
    for start in range(0, len(values), _BLOCK):
        x = values[start:start + _BLOCK]
        m = len(x)
        y = lower[:m, :m] @ x + decay[:m] * last
        out[start:start + m] = y
        last = y[-1]
    return out / (1 - weight ** np.arange(1, len(values) + 1))


def _ema_loop(values: np.ndarray, weight: float) -> np.ndarray:
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
