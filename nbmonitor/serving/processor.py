"""The statistics of one inference monitor, fed by its worker thread: it turns
the calls the caller's thread queued into latency, output, drift and quality
statistics and writes them as series into the run's buffer.

Series written (step = calls so far): ``latency/p50_ms``, ``latency/p90_ms``,
``latency/p99_ms``, ``calls/rows_per_s``, ``calls/batch_size``, ``calls/error_rate``
(sliding window),
``output/*`` (mean, std, p5/p50/p95 of a regressor; ``max_prob`` of a
classifier), ``drift/psi/<column>`` and ``drift/ks_p/<column>`` at each drift
check, ``quality/*`` (accuracy, precision, recall, f1; mae, rmse) after labels.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .drift import DriftTracker
from .latency import LatencyStats
from .outputs import (NotNumeric, detect_task, output_columns, output_stats,
                      predicted_labels, rows_of, to_numpy)
from .quality import QualityTracker


class Processor:
    """Statistics of one monitor, fed from its queues under ``lock``."""

    def __init__(self, mon: Any) -> None:
        self.mon = mon
        self.lock = threading.RLock()
        self.latency = LatencyStats(mon.latency_window_s)
        self.task: str | None = None if mon.task == "auto" else mon.task
        self.inputs: DriftTracker | None = None
        self.outputs: DriftTracker | None = None
        self.quality: QualityTracker | None = None
        self.output_summary: dict[str, float] = {}
        self.class_counts: dict[str, int] = {}
        self.unreadable = 0  # calls whose output could not be read as numbers
        self._noted: set[str] = set()
        self._cuda: list[tuple[Any, Any]] = []  # CUDA events not completed yet
        self._last_written = -1
        self._ref_outputs: np.ndarray | None = None  # the model's outputs on the reference

    def set_reference(self, ref: Any) -> None:
        """Input drift against ``ref.inputs``; output drift against ``ref.outputs``
        (the task is detected from them when not given)."""
        self.inputs = DriftTracker(ref.names, self.mon.window, reference=ref.inputs)
        self._ref_outputs = ref.outputs
        if ref.outputs is not None and self.task is None:
            self.task = detect_task(ref.outputs)
            self.mon.run.hparams["task"] = self.task

    # -- feeding ---------------------------------------------------------------
    def drain(self) -> int:
        """Process every queued call and label batch; returns the calls processed."""
        mon = self.mon
        with self.lock:
            q = mon._queue
            batch = [q.popleft() for _ in range(len(q))]
            n = len(batch)
            if n:
                self._calls(batch)
            fb = mon._feedback
            while fb:
                self._feedback(*fb.popleft())
            self._read_cuda()
            return n

    def _calls(self, batch: list[tuple]) -> None:
        """Queued calls: ``(t, seconds, input, output, error[, cuda events[, rows]])``;
        the arrays of those that kept them feed output statistics and drift."""
        rows = np.ones(len(batch), np.int64)
        for i, rec in enumerate(batch):
            x, out, error = rec[2], rec[3], rec[4]
            if len(rec) > 6:  # a timing-only record: its row count came with it
                rows[i] = rec[6]
                continue
            if len(rec) > 5 and rec[5] is not None:
                self._cuda.append(rec[5])
            if error is not None:
                continue
            try:
                arr = to_numpy(out)
            except NotNumeric as e:
                self.unreadable += 1
                self._note("output", f"output statistics skipped: {e}")
                arr = None
            if arr is not None:
                rows[i] = len(arr) if arr.ndim else 1
                self._outputs(arr)
            if x is not None:
                rows[i] = self._inputs(x, int(rows[i]))
        self.latency.add_many(np.array([r[0] for r in batch]), np.array([r[1] for r in batch]),
                              rows, [r[4] for r in batch])

    def _inputs(self, x: Any, rows: int) -> int:
        trk = self.inputs
        if trk is None:
            return rows
        try:
            m = rows_of(to_numpy(x, "input"))
        except NotNumeric:
            return rows
        if m.shape[1] < len(trk.names):
            self._note("input", f"input drift skipped: {m.shape[1]} features, the "
                                f"reference has {len(trk.names)}")
            return len(m)
        trk.add(m[:, :len(trk.names)].astype(np.float64, copy=False))
        return len(m)

    def _outputs(self, arr: np.ndarray) -> None:
        if self.task is None:
            self.task = detect_task(arr)
            self.mon.run.hparams["task"] = self.task
        if arr.ndim == 0:
            arr = arr.reshape(1)
        cols = output_columns(arr, self.task)
        if self.outputs is None:
            ref = self._ref_outputs
            if ref is not None:
                ref = np.column_stack(list(output_columns(ref, self.task).values()))
            self.outputs = DriftTracker(list(cols), self.mon.window,
                                        frozenset({"pred_class"}) & set(cols),
                                        ref if ref is not None and ref.shape[1] == len(cols)
                                        else None)
        if list(cols) != self.outputs.names:
            return  # a call whose output has another shape: counted, not tracked
        self.outputs.add(np.column_stack(list(cols.values())))
        if "pred_class" in cols:
            values, counts = np.unique(cols["pred_class"], return_counts=True)
            for v, c in zip(values, counts):
                key = str(int(v))
                self.class_counts[key] = self.class_counts.get(key, 0) + int(c)

    def _feedback(self, y_true: np.ndarray, pred: Any) -> None:
        try:
            arr = to_numpy(pred, "prediction")
        except NotNumeric as e:
            self._note("feedback", f"labels skipped: {e}")
            return
        task = self.task or detect_task(arr)
        self.task = task
        if self.quality is None:
            self.quality = QualityTracker(task, self.mon.quality_window)
        y_pred = predicted_labels(arr, task)
        if task == "classification":
            y_true = y_true.reshape(-1)
        self.quality.add(y_true, y_pred)

    def _read_cuda(self) -> None:
        left = []
        for start, end in self._cuda:
            if end.query():  # completed: reading the time now costs no sync
                self.latency.add_cuda(start.elapsed_time(end) / 1e3)
            else:
                left.append((start, end))
        self._cuda = left[-10_000:]

    def _note(self, key: str, message: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.mon.run.event("note", message)

    # -- writing series --------------------------------------------------------
    def write_series(self, now: float) -> None:
        """Append the current statistics to the run's series (step = calls)."""
        with self.lock:
            lat = self.latency
            step = lat.calls
            run = self.mon.run
            run.step = step
            if step == self._last_written:
                self._drift(run, step)
                return
            self._last_written = step
            win = lat.window_sketch(now)
            if win.count:
                for q in (0.5, 0.9, 0.99):
                    run.buffer.append(f"latency/p{round(q * 100)}_ms", step,
                                      win.get_quantile_value(q) * 1e3, now)
            rates = lat.window_rates(now)
            run.buffer.append("calls/rows_per_s", step, rates["rows_per_s"], now)
            run.buffer.append("calls/batch_size", step, rates["batch_size"], now)
            run.buffer.append("calls/error_rate", step, rates["error_rate"], now)
            if self.outputs is not None and self.outputs.rows:
                self.output_summary = output_stats(
                    dict(zip(self.outputs.names, self.outputs.recent().T)), self.task or "")
                for k, v in self.output_summary.items():
                    run.buffer.append(f"output/{k}", step, v, now)
            self._drift(run, step)

    def _drift(self, run: Any, step: int) -> None:
        for trk in (self.inputs, self.outputs):
            if trk is not None and trk.due():
                for name, res in trk.check().items():
                    for k, v in res.items():
                        run.buffer.append(f"drift/{k}/{name}", step, v)

    def write_quality(self, now: float) -> None:
        """Recompute the quality metrics once new labels arrived."""
        with self.lock:
            q = self.quality
            if q is None or q.labelled == q.latest.get("labelled"):
                return
            res = q.compute()
            for k, v in res.items():
                if isinstance(v, float):
                    self.mon.run.buffer.append(f"quality/{k}", self.latency.calls, v, now)
