"""Thread-safe, bounded, columnar storage of metric series.

A :class:`MetricsBuffer` maps series names to :class:`Series`. Appending is O(1)
amortized and does no I/O: points land in ``array('d')`` staging columns that are
moved into numpy chunks when full. Each series keeps up to ``full_cap`` points at
full resolution; older points are folded into a min/max-decimated history whose
size is bounded too, so memory per series is bounded for any run length.

Readers call :meth:`Series.view`, which returns at most ``max_points`` points and
keeps, for every bucket it merges, that bucket's minimum and maximum.

A series created with ``drain=True`` also keeps a *drain log*: every point, at full
resolution, until a consumer (the store's writer) takes it with :meth:`Series.drain`.
The log shares the numpy chunks with the series (no copy on the hot path) and is
independent of compaction, so a slow consumer loses nothing; it only holds memory
until the next drain.
"""
from __future__ import annotations

import threading
import time
from array import array
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

STAGE = 4096  # points staged in Python arrays before moving to numpy
FULL_CAP = 1 << 17  # points kept at full resolution per series (~3 MB)
HISTORY_CAP = 1 << 14  # decimated history points per series before it is halved
VIEW_POINTS = 2000  # default budget of points one chart refresh sends per series


@dataclass(frozen=True)
class View:
    """A read-only snapshot of a series, at most ``max_points`` long."""

    steps: np.ndarray
    values: np.ndarray
    times: np.ndarray
    count: int  # raw points appended to the series so far
    version: int

    def __len__(self) -> int:
        return len(self.steps)


def decimate(steps: np.ndarray, values: np.ndarray, times: np.ndarray,
             max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max decimation by equal-count buckets.

    Returns the points unchanged when they fit in ``max_points``. Otherwise the
    points are cut into ``max_points // 2`` consecutive buckets and each bucket
    contributes its minimum and its maximum, in their original order (one point
    when they coincide). NaN values are kept as a bucket's extreme so that they
    stay visible.
    """
    n = len(steps)
    if n <= max_points:
        return steps, values, times
    nb = max(1, max_points // 2)
    edges = (np.arange(nb + 1, dtype=np.int64) * n) // nb
    lens = np.diff(edges)
    width = int(lens.max())
    # Pad buckets to equal width so argmin/argmax run vectorised.
    idx = edges[:-1, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < lens[:, None]
    idx = np.where(valid, idx, edges[:-1, None])
    block = values[idx]
    nan_rows = np.isnan(block).any(axis=1)
    lo = np.where(valid, block, np.inf)
    hi = np.where(valid, block, -np.inf)
    with np.errstate(invalid="ignore"):
        imin = np.nanargmin(np.where(np.isnan(lo), np.inf, lo), axis=1)
        imax = np.nanargmax(np.where(np.isnan(hi), -np.inf, hi), axis=1)
    if nan_rows.any():
        first_nan = np.argmax(np.isnan(block) & valid, axis=1)
        imax = np.where(nan_rows, first_nan, imax)
    rows = np.arange(nb)
    a = idx[rows, np.minimum(imin, imax)]
    b = idx[rows, np.maximum(imin, imax)]
    pick = np.empty(2 * nb, dtype=np.int64)
    pick[0::2] = a
    pick[1::2] = b
    keep = np.ones(2 * nb, dtype=bool)
    keep[1::2] = b != a
    pick = pick[keep]
    return steps[pick], values[pick], times[pick]


class Series:
    """One named series of (step, value, wall time) points."""

    __slots__ = ("name", "_lock", "_s", "_v", "_t", "_chunks", "_full_len",
                 "_hist", "count", "version", "full_cap", "history_cap",
                 "last_step", "last_value", "_drain", "_drained", "_staged_out")

    def __init__(self, name: str, full_cap: int = FULL_CAP,
                 history_cap: int = HISTORY_CAP, drain: bool = False) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._s = array("d")
        self._v = array("d")
        self._t = array("d")
        self._chunks: list[np.ndarray] = []  # each (3, n) float64
        self._full_len = 0
        self._hist = np.empty((3, 0))  # decimated history, oldest first
        self.count = 0
        self.version = 0
        self.full_cap = full_cap
        self.history_cap = history_cap
        self.last_step = float("nan")
        self.last_value = float("nan")
        self._drain: list[np.ndarray] | None = [] if drain else None
        self._drained = 0  # points handed out by drain() so far
        self._staged_out = 0  # staged points already handed out by drain()

    def append(self, step: float, value: float, t: float | None = None) -> None:
        """Append one point; O(1) amortized, no I/O."""
        if t is None:
            t = time.time()
        with self._lock:
            self._s.append(step)
            self._v.append(value)
            self._t.append(t)
            self.count += 1
            self.version += 1
            self.last_step = step
            self.last_value = value
            if len(self._s) >= STAGE:
                self._spill()

    def extend(self, steps, values, times=None) -> None:
        """Append many points at once."""
        steps = np.asarray(steps, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if len(steps) == 0:
            return
        times = (np.full(len(steps), time.time()) if times is None
                 else np.asarray(times, dtype=np.float64))
        with self._lock:
            self._spill()
            chunk = np.vstack([steps, values, times])
            self._chunks.append(chunk)
            if self._drain is not None:
                self._drain.append(chunk)
            self._full_len += len(steps)
            self.count += len(steps)
            self.version += 1
            self.last_step = float(steps[-1])
            self.last_value = float(values[-1])
            self._compact()

    def _spill(self) -> None:
        """Move staged points into a numpy chunk (lock held)."""
        if not self._s:
            return
        chunk = np.vstack([np.frombuffer(self._s), np.frombuffer(self._v),
                           np.frombuffer(self._t)])  # copies
        self._chunks.append(chunk)
        if self._drain is not None and self._staged_out < chunk.shape[1]:
            self._drain.append(chunk[:, self._staged_out:])
        self._staged_out = 0
        self._full_len += chunk.shape[1]
        self._s = array("d")
        self._v = array("d")
        self._t = array("d")
        self._compact()

    def _compact(self) -> None:
        """Fold the oldest full-resolution points into the history (lock held)."""
        if self._full_len <= self.full_cap:
            return
        full = np.concatenate(self._chunks, axis=1)
        excess = full.shape[1] - self.full_cap // 2
        old, keep = full[:, :excess], full[:, excess:]
        self._chunks = [keep]
        self._full_len = keep.shape[1]
        # Fold the old block into min/max pairs of buckets of 16 points.
        s, v, t = decimate(old[0], old[1], old[2], max(2, 2 * (excess // 16)))
        hist = np.concatenate([self._hist, np.vstack([s, v, t])], axis=1)
        if hist.shape[1] > self.history_cap:
            s, v, t = decimate(hist[0], hist[1], hist[2], self.history_cap // 2)
            hist = np.vstack([s, v, t])
        self._hist = hist

    def drain(self) -> tuple[int, np.ndarray]:
        """Points appended since the last drain, at full resolution.

        Returns ``(start, points)``: the absolute index of the first point and a
        ``(3, n)`` float64 array of steps, values and times. Needs ``drain=True``.
        """
        with self._lock:
            if self._drain is None:
                raise RuntimeError(f"series {self.name!r} keeps no drain log")
            parts, self._drain = self._drain, []
            k = self._staged_out
            if len(self._s) > k:
                parts.append(np.vstack([np.array(self._s[k:]), np.array(self._v[k:]),
                                        np.array(self._t[k:])]))
                self._staged_out = len(self._s)
            start = self._drained
            pts = np.concatenate(parts, axis=1) if parts else np.empty((3, 0))
            self._drained += pts.shape[1]
        return start, pts

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All retained points (history then full resolution), copied."""
        with self._lock:
            parts = [self._hist, *self._chunks]
            if self._s:
                parts.append(np.vstack([np.array(self._s), np.array(self._v),
                                        np.array(self._t)]))
        allp = np.concatenate(parts, axis=1) if parts else np.empty((3, 0))
        return allp[0], allp[1], allp[2]

    def view(self, max_points: int = VIEW_POINTS) -> View:
        """A snapshot of at most ``max_points`` points keeping bucket extremes."""
        version, count = self.version, self.count
        s, v, t = self.arrays()
        s, v, t = decimate(s, v, t, max_points)
        return View(s, v, t, count, version)

    def nbytes(self) -> int:
        """Bytes held by this series' points."""
        with self._lock:
            return (self._hist.nbytes + sum(c.nbytes for c in self._chunks)
                    + 3 * self._s.buffer_info()[1] * 8)


class MetricsBuffer:
    """Runs' series, by name. One per kernel; shared by hooks, meters and readers."""

    def __init__(self, full_cap: int = FULL_CAP, history_cap: int = HISTORY_CAP) -> None:
        self._series: dict[str, Series] = {}
        self.drain = False  # new series keep a drain log (set by the store writer)
        self._lock = threading.Lock()
        self._full_cap = full_cap
        self._history_cap = history_cap
        self.version = 0  # bumped when a series is added
        self._on_new: list[Callable[[Series], None]] = []

    def series(self, name: str) -> Series:
        """The series called ``name``, created on first use."""
        s = self._series.get(name)
        if s is None:
            with self._lock:
                s = self._series.get(name)
                if s is None:
                    s = Series(name, self._full_cap, self._history_cap, self.drain)
                    self._series[name] = s
                    self.version += 1
        return s

    def append(self, name: str, step: float, value: float, t: float | None = None) -> None:
        """Append one point to series ``name``."""
        s = self._series.get(name)
        if s is None:
            s = self.series(name)
        s.append(step, value, t)

    def names(self) -> list[str]:
        """Series names in creation order."""
        return list(self._series)

    def __contains__(self, name: str) -> bool:
        return name in self._series

    def __iter__(self) -> Iterator[Series]:
        return iter(list(self._series.values()))

    def __len__(self) -> int:
        return len(self._series)

    def nbytes(self) -> int:
        """Bytes held by every series' points."""
        return sum(s.nbytes() for s in self)
