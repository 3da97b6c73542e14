"""Thread-safe, bounded, columnar storage of metric series.

A :class:`MetricsBuffer` maps series names to :class:`Series`. Appending is O(1)
amortized and does no I/O: points land in a flat staging list that is moved into
numpy chunks when full. Each series keeps up to ``full_cap`` points at
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

import sys
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

STAGE = 2048  # points staged as Python tuples before moving to numpy
FULL_CAP = 1 << 17  # points kept at full resolution per series (~3 MB)
HISTORY_CAP = 1 << 14  # decimated history points per series before it is halved
VIEW_POINTS = 2000  # default budget of points one chart refresh sends per series
_GIL = getattr(sys, "_is_gil_enabled", lambda: True)()


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
    points are cut into ``(max_points - 2) // 2`` consecutive buckets and each
    bucket contributes its minimum and its maximum, in their original order (one
    point when they coincide); the first and the last point are always kept, so a
    live curve reaches the newest step. NaN values are kept as a bucket's
    extreme so that they stay visible.
    """
    n = len(steps)
    if n <= max_points:
        return steps, values, times
    nb = max(1, (max_points - 2) // 2)
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
    if pick[0] != 0:
        pick = np.concatenate([[0], pick])
    if pick[-1] != n - 1:
        pick = np.concatenate([pick, [n - 1]])
    return steps[pick], values[pick], times[pick]


class Series:
    """One named series of (step, value, wall time) points.

    ``append`` takes no lock: it extends a flat Python list by one (step, value,
    time) triple, which the GIL makes atomic, and a spiller (under the lock) moves
    a prefix of that list into numpy with ``del staged[:n]``, so a concurrent
    append is never lost. On a
    free-threaded interpreter appends take the lock instead.
    """

    __slots__ = ("name", "_lock", "_stage", "_chunks", "_full_len", "_spilled",
                 "_hist", "full_cap", "history_cap", "_extends", "_drain", "_drained",
                 "_staged_out", "_coarse")

    def __init__(self, name: str, full_cap: int = FULL_CAP,
                 history_cap: int = HISTORY_CAP, drain: bool = False) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._stage: list[float] = []  # flat step, value, time triples
        self._chunks: list[np.ndarray] = []  # each (3, n) float64
        self._full_len = 0
        self._spilled = 0  # points moved out of the stage so far
        self._hist = np.empty((3, 0))  # decimated history, oldest first
        self._extends = 0
        self.full_cap = full_cap
        self.history_cap = history_cap
        self._coarse: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (chunk, dec)
        self._drain: list[np.ndarray] | None = [] if drain else None
        self._drained = 0  # points handed out by drain() so far
        self._staged_out = 0  # staged points already handed out by drain()

    def append(self, step: float, value: float, t: float | None = None) -> None:
        """Append one point; O(1) amortized, no I/O."""
        if t is None:
            t = time.time()
        stage = self._stage
        if _GIL:
            stage.extend((step, value, t))
        else:  # pragma: no cover - free-threaded builds
            with self._lock:
                stage.extend((step, value, t))
        if len(stage) >= 3 * STAGE:
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
            self._spill_locked()
            chunk = np.vstack([steps, values, times])
            self._chunks.append(chunk)
            if self._drain is not None:
                self._drain.append(chunk)
            self._full_len += len(steps)
            self._spilled += len(steps)
            self._extends += 1
            self._compact()

    @property
    def count(self) -> int:
        """Points appended so far."""
        return self._spilled + len(self._stage) // 3

    @property
    def version(self) -> int:
        """Changes whenever points are added (readers compare it)."""
        return self.count + self._extends

    def _last(self, i: int) -> float:
        stage = self._stage
        try:
            n = len(stage) // 3
            if n:
                return stage[3 * (n - 1) + i]
        except IndexError:
            pass
        with self._lock:
            n = len(self._stage) // 3
            if n:
                return self._stage[3 * (n - 1) + i]
            if self._chunks:
                return float(self._chunks[-1][i, -1])
            if self._hist.shape[1]:
                return float(self._hist[i, -1])
        return float("nan")

    @property
    def last_step(self) -> float:
        return self._last(0)

    @property
    def last_value(self) -> float:
        return self._last(1)

    def _spill(self) -> None:
        with self._lock:
            self._spill_locked()

    def _spill_locked(self) -> None:
        """Move the staged prefix into a numpy chunk (lock held)."""
        n = len(self._stage) // 3
        if not n:
            return
        block = self._stage[:3 * n]
        chunk = np.array(block, dtype=np.float64).reshape(n, 3).T.copy()
        self._spilled += n
        del self._stage[:3 * n]
        self._chunks.append(chunk)
        if self._drain is not None and self._staged_out < n:
            self._drain.append(chunk[:, self._staged_out:])
        self._staged_out = 0
        self._full_len += n
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

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        with self._lock:
            staged = self._stage[:3 * (len(self._stage) // 3)]
            parts = [self._hist, *self._chunks]
            count = self._spilled + len(staged) // 3
            version = count + self._extends
        if staged:
            parts.append(np.array(staged, dtype=np.float64).reshape(-1, 3).T)
        allp = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        return allp[0], allp[1], allp[2], count, version

    def tail(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The newest ``k`` retained points (fewer if folded or not yet appended)."""
        if k <= 0:
            return np.empty(0), np.empty(0), np.empty(0)
        with self._lock:
            staged = self._stage[:3 * (len(self._stage) // 3)]
            parts = []
            have = len(staged) // 3
            for chunk in reversed(self._chunks):
                if have >= k:
                    break
                parts.append(chunk)
                have += chunk.shape[1]
        parts.reverse()
        if staged:
            parts.append(np.array(staged, dtype=np.float64).reshape(-1, 3).T)
        if not parts:
            return np.empty(0), np.empty(0), np.empty(0)
        allp = np.concatenate(parts, axis=1)[:, -k:]
        return allp[0].copy(), allp[1].copy(), allp[2].copy()

    def drain(self) -> tuple[int, np.ndarray]:
        """Points appended since the last drain, at full resolution.

        Returns ``(start, points)``: the absolute index of the first point and a
        ``(3, n)`` float64 array of steps, values and times. Needs ``drain=True``.
        """
        with self._lock:
            if self._drain is None:
                raise RuntimeError(f"series {self.name!r} keeps no drain log")
            parts, self._drain = self._drain, []
            staged = self._stage[:3 * (len(self._stage) // 3)]
            m = len(staged) // 3
            k = self._staged_out
            if m > k:
                parts.append(np.array(staged[3 * k:], dtype=np.float64).reshape(-1, 3).T)
                self._staged_out = m
            start = self._drained
            pts = np.concatenate(parts, axis=1) if parts else np.empty((3, 0))
            self._drained += pts.shape[1]
        return start, pts

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All retained points (history then full resolution), copied."""
        s, v, t, _, _ = self._snapshot()
        return s.copy(), v.copy(), t.copy()

    def view(self, max_points: int = VIEW_POINTS) -> View:
        """A snapshot of at most ``max_points`` points keeping bucket extremes.

        Long series are read through a cached 16:1 min/max reduction of their sealed
        chunks, so a refresh costs O(points / 16) rather than O(points)."""
        with self._lock:
            staged = self._stage[:3 * (len(self._stage) // 3)]
            chunks = list(self._chunks)
            hist = self._hist
            count = self._spilled + len(staged) // 3
            version = count + self._extends
            coarse = 16 * max_points < self._full_len
            if coarse:
                chunks = [self._coarse_of(c) for c in chunks]
                live = {id(c) for c in self._chunks}
                for key in [k for k in self._coarse if k not in live]:
                    del self._coarse[key]
        parts = [hist, *chunks]
        if staged:
            parts.append(np.array(staged, dtype=np.float64).reshape(-1, 3).T)
        allp = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        s, v, t = decimate(allp[0], allp[1], allp[2], max_points)
        return View(s.copy(), v.copy(), t.copy(), count, version)

    def _coarse_of(self, chunk: np.ndarray) -> np.ndarray:
        """A chunk reduced 16:1 by min/max buckets, cached while the chunk lives."""
        hit = self._coarse.get(id(chunk))
        if hit is not None and hit[0] is chunk:
            return hit[1]
        n = chunk.shape[1]
        dec = np.vstack(decimate(chunk[0], chunk[1], chunk[2], max(4, n // 8)))
        self._coarse[id(chunk)] = (chunk, dec)
        return dec

    def nbytes(self) -> int:
        """Bytes held by this series' points (a staged float counted at 32 bytes)."""
        with self._lock:
            return (self._hist.nbytes + sum(c.nbytes for c in self._chunks)
                    + 32 * len(self._stage))


class MetricsBuffer:
    """Runs' series, by name. One per kernel; shared by hooks, meters and readers."""

    def __init__(self, full_cap: int = FULL_CAP, history_cap: int = HISTORY_CAP) -> None:
        self._series: dict[str, Series] = {}
        self.drain = False  # new series keep a drain log (set by the store writer)
        self._lock = threading.Lock()
        self._full_cap = full_cap
        self._history_cap = history_cap
        self.version = 0  # bumped when a series is added

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
