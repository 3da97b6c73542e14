"""Axis ranges and round tick values (1-2-5 steps), the same for the live charts and
the snapshot, so both show the same numbers."""
from __future__ import annotations

import math

import numpy as np

AUTO_LOG_RATIO = 1e3  # positive data spanning more than this is drawn on a log axis


def nice_step(span: float, count: int = 5) -> float:
    """The 1, 2 or 5 times a power of ten closest (in ratio) to ``span / count``."""
    raw = span / max(1, count)
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return min((m * power for m in (1, 2, 5, 10)), key=lambda s: abs(math.log(s / raw)))


def padded(lo: float, hi: float, log: bool = False, pad: float = 0.05) -> tuple[float, float]:
    """A drawable domain around ``[lo, hi]``: a margin of ``pad``, and a width even
    when every value is the same (one point, a constant)."""
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        half = 0.5 if log else (abs(hi) * 0.1 or 1.0)
        lo, hi = lo - half, hi + half
    else:
        m = (hi - lo) * pad
        lo, hi = lo - m, hi + m
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


def linear_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values inside ``[lo, hi]`` at a 1-2-5 step."""
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9)
    ticks = [round((first + k) * step, 12) for k in range(int((hi - lo) / step) + 2)]
    return [0.0 if t == 0 else t for t in ticks if lo - 1e-9 * step <= t <= hi + 1e-9 * step]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten inside ``[lo, hi]``, with 2 and 5 times them when that gives
    too few; round linear values when even those are fewer than three."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def inside(mults: tuple[int, ...]) -> list[float]:
        ticks = [m * 10.0 ** e for e in range(a, b + 1) for m in mults]
        return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]

    ticks = inside((1,))
    if len(ticks) < 3:
        ticks = inside((1, 2, 5))
    if len(ticks) < 3:  # under a decade: round linear values, placed on the log axis
        return [t for t in linear_ticks(lo, hi, 4) if t > 0]
    if len(ticks) > 7:  # at most ~6 labels
        ticks = ticks[::math.ceil(len(ticks) / 6)]
    return ticks


def tick_format(ticks: list[float], log: bool = False) -> str:
    """A d3 format for ``ticks``: as many decimals as the step needs."""
    if log or not ticks:
        return "~g"
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(ticks[0]) or 1.0
    big = max(abs(t) for t in ticks)
    if big >= 1e6 or (step < 1e-4 and big < 1e-3):
        return ".1e"
    if big >= 1e4 and step >= 1:
        return "~s"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f".{min(decimals, 6)}f"


def wants_log(values: np.ndarray) -> bool:
    """The automatic y-scale choice: log when every finite value is positive and
    they span more than ``AUTO_LOG_RATIO``."""
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    return bool(len(finite) and finite.min() > 0
                and finite.max() / finite.min() > AUTO_LOG_RATIO)


def is_constant(values: np.ndarray, min_points: int = 2) -> bool:
    """Whether a series has one value repeated (at least ``min_points`` of it)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return len(v) >= min_points and bool(v.max() - v.min() <= 1e-12 * max(1.0, abs(v.max())))
