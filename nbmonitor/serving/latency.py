"""Call counts, errors by type, and latency percentiles of one monitored model.

Percentiles come from ``ddsketch`` (relative accuracy 1%, mergeable): the sliding
window is a ring of sketches, one per ``slot_s`` seconds, merged when read; the
whole session is the merge of every retired slot plus the live ones. Prometheus
histogram buckets are counted here too, so the endpoint only reads.
Fed by the monitor's worker thread only (see :mod:`.worker`); readers take
:meth:`LatencyStats.summary` under the worker's lock.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from ddsketch import DDSketch

# Seconds: 0.1 ms .. 10 s, finer than prometheus_client's default 5 ms .. 10 s,
# since a model call in a notebook often takes well under 5 ms.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
           0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ACCURACY = 0.01
QUANTILES = (0.5, 0.9, 0.99)


def _sketch() -> DDSketch:
    return DDSketch(relative_accuracy=ACCURACY)


class LatencyStats:
    """Counts and latency sketches; ``window_s`` seconds in ``slots`` slots."""

    def __init__(self, window_s: float = 60.0, slots: int = 6) -> None:
        self.slot_s = window_s / slots
        self.slots = slots
        self.calls = 0
        self.rows = 0
        self.errors: Counter[str] = Counter()
        self.bucket_counts = np.zeros(len(BUCKETS) + 1, np.int64)  # last one: +Inf
        self.latency_sum = 0.0
        self.cuda_sketch: DDSketch | None = None  # GPU time, when events were recorded
        self._retired = _sketch()  # every slot that left the window, merged
        self._ring: list[list] = []  # [slot, sketch, calls, rows, errors], oldest first

    def _slot(self, t: float) -> list:
        return self._slot_key(int(t // self.slot_s))

    def _slot_key(self, key: int) -> list:
        ring = self._ring
        if ring and ring[-1][0] >= key:  # the newest slot (or an older one still kept)
            return next((s for s in reversed(ring) if s[0] == key), ring[-1])
        ring.append([key, _sketch(), 0, 0, 0])
        while ring and ring[0][0] <= key - self.slots:
            self._retired.merge(ring.pop(0)[1])
        return ring[-1]

    def add(self, t: float, seconds: float, rows: int, error: str | None) -> None:
        """One call that started at wall time ``t`` and took ``seconds``."""
        self.add_many(np.array([t]), np.array([seconds]), np.array([rows]), [error])

    def add_many(self, t: np.ndarray, seconds: np.ndarray, rows: np.ndarray,
                 errors: list[str | None]) -> None:
        """Calls in bulk: start times, durations, rows, exception type names (or None)."""
        if not len(t):
            return
        keys = (t // self.slot_s).astype(np.int64)
        failed = np.array([e is not None for e in errors])
        for key in np.unique(keys):
            m = keys == key
            slot = self._slot_key(int(key))
            add = slot[1].add
            for v in seconds[m].tolist():
                add(v)
            slot[2] += int(m.sum())
            slot[3] += int(rows[m].sum())
            slot[4] += int(failed[m].sum())
        self.calls += len(t)
        self.rows += int(rows.sum())
        self.latency_sum += float(seconds.sum())
        self.bucket_counts += np.bincount(np.searchsorted(BUCKETS, seconds, side="left"),
                                          minlength=len(BUCKETS) + 1)
        if failed.any():
            self.errors.update(e for e in errors if e is not None)

    def add_cuda(self, seconds: float) -> None:
        """GPU time of one call, from CUDA events."""
        if self.cuda_sketch is None:
            self.cuda_sketch = _sketch()
        self.cuda_sketch.add(seconds)

    # -- reading -----------------------------------------------------------
    def _window(self, now: float) -> list:
        self._slot(now)  # retire slots that are too old
        return self._ring

    def window_sketch(self, now: float) -> DDSketch:
        """The latencies of the last ``window_s`` seconds, in one sketch."""
        out = _sketch()
        for slot in self._window(now):
            if slot[1].count:
                out.merge(slot[1])
        return out

    def session_sketch(self) -> DDSketch:
        """Every latency of the session, in one sketch."""
        out = _sketch()
        if self._retired.count:
            out.merge(self._retired)
        for slot in self._ring:
            if slot[1].count:
                out.merge(slot[1])
        return out

    def window_rates(self, now: float) -> dict[str, float]:
        """Calls/s, rows/s, mean batch size (rows per call) and error rate over the
        window (its filled part)."""
        ring = self._window(now)
        calls = sum(s[2] for s in ring)
        rows = sum(s[3] for s in ring)
        errors = sum(s[4] for s in ring)
        span = max(self.slot_s, (int(now // self.slot_s) - ring[0][0] + 1) * self.slot_s
                   if ring else self.slot_s)
        span = min(span, self.slot_s * self.slots)
        return {"calls_per_s": calls / span, "rows_per_s": rows / span,
                "batch_size": rows / calls if calls else 0.0,
                "error_rate": errors / calls if calls else 0.0}

    def summary(self, now: float) -> dict[str, Any]:
        """Plain numbers: counts, error rate, p50/p90/p99 in ms (window and session)."""
        def ms(sk: DDSketch) -> dict[str, float | None]:
            return {f"p{round(q * 100)}": (sk.get_quantile_value(q) * 1e3 if sk.count else None)
                    for q in QUANTILES}
        n_err = sum(self.errors.values())
        out = {"requests": self.calls, "rows": self.rows, "errors": n_err,
               "errors_by_type": dict(self.errors),
               "error_rate": n_err / self.calls if self.calls else 0.0,
               "latency_ms": ms(self.session_sketch()),
               "latency_window_ms": ms(self.window_sketch(now)),
               "window": self.window_rates(now)}
        if self.cuda_sketch is not None:
            out["cuda_ms"] = ms(self.cuda_sketch)
        return out
