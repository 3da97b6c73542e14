"""``StoreWriter``: a background thread that copies a run into a store.

The training thread never touches SQLite. It only appends to the run's buffer,
whose series keep a drain log (see :mod:`nbmonitor.buffer`) while a writer is
attached. Every ``period`` seconds (0.5 by default, so at least once a second) the
writer drains every series, takes the new events and writes them all, with the
run's step, hyperparameters and a heartbeat, in one transaction: one row per
series per batch, whatever the logging rate. Points are never lost to the
buffer's compaction, since the drain log is independent of it.

A failing write (disk full, a lock held too long) is reported once on stderr and
retried at the next tick with the points kept in memory, up to ``MAX_PENDING``
points; beyond that the writer stops storing this run (the buffer still holds
it for the dashboard). Training is never interrupted.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any

import numpy as np

from ..run import Run
from .sqlite import LIVE_RUNS, SqliteStore

PERIOD_S = 0.5
MAX_PENDING = 8_000_000  # points held in memory while writes fail (~190 MB)


class StoreWriter:
    """Writes ``run`` into ``store`` from a daemon thread until :meth:`close`."""

    def __init__(self, store: SqliteStore, run: Run, row: dict[str, Any],
                 period: float = PERIOD_S) -> None:
        self.store = store
        self.run = run
        self.period = period
        self._row = row  # columns of the run row besides id/name/status/started
        self._pending: dict[str, list[tuple[int, np.ndarray]]] = {}
        self._n_pending = 0
        self._events_done = 0
        self._hparams: dict[str, Any] | None = None
        self._inserted = False
        self._gave_up = False
        self._reported = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.cpu_s = 0.0  # CPU time spent in flush (drain, encode, SQLite), any thread

    def start(self) -> None:
        """Attach to the run's buffer, write the ``running`` row, start the thread.
        Call before anything is logged, so every series keeps a drain log."""
        run = self.run
        run.buffer.drain = True
        LIVE_RUNS.add(run.id)
        self._insert()
        self._thread = threading.Thread(target=self._loop, name="nbmonitor-store",
                                         daemon=True)
        self._thread.start()

    def _insert(self) -> bool:
        if not self._inserted:
            run = self.run
            try:
                self.store.insert_run({"id": run.id, "name": run.name, "status": run.status,
                                       "started": run.started, "hparams": run.hparams,
                                       **self._row})
                self._inserted = True
            except Exception as e:
                self._report(e)
        return self._inserted

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.flush()

    def _report(self, e: BaseException) -> None:
        if not self._reported:
            self._reported = True
            print(f"nbmonitor: writing run {self.run.name!r} to {self.store.path} failed "
                  f"({type(e).__name__}: {e}); the run goes on, its points are kept in "
                  "memory and the write is retried", file=sys.stderr)

    def _collect(self) -> None:
        for s in self.run.buffer:
            if s._drain is None:
                continue
            start, pts = s.drain()
            if pts.shape[1] and not self._gave_up:
                self._pending.setdefault(s.name, []).append((start, pts))
                self._n_pending += pts.shape[1]
        if self._n_pending > MAX_PENDING and not self._gave_up:
            self._gave_up = True
            self._pending.clear()
            self._n_pending = 0
            print(f"nbmonitor: giving up storing run {self.run.name!r}: writes keep "
                  "failing", file=sys.stderr)

    def flush(self, **fields: Any) -> bool:
        """Drain the buffer and write one batch; True when written. Never raises."""
        t0 = time.thread_time()
        try:
            return self._flush(fields)
        finally:
            self.cpu_s += time.thread_time() - t0

    def _flush(self, fields: dict[str, Any]) -> bool:
        """:meth:`flush` itself, untimed."""
        try:
            self._collect()
            if self._gave_up or not self._insert():
                return False
            run = self.run
            points = [(name, parts[0][0], np.concatenate([p for _, p in parts], axis=1))
                      for name, parts in self._pending.items()]
            with run._events_lock:
                events = list(enumerate(run.events[self._events_done:], self._events_done))
            fields = {"step": int(run.step), **fields}
            if run.hparams != self._hparams:
                fields["hparams"] = dict(run.hparams)
            self.store.write_batch(run.id, fields, points, events)
        except Exception as e:
            self._report(e)
            return False
        self._pending.clear()
        self._n_pending = 0
        self._events_done += len(events)
        self._hparams = fields.get("hparams", self._hparams)
        self.batches += 1
        return True

    def stop(self) -> None:
        """Stop the thread (no final write; see :meth:`close`)."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=30)

    def close(self) -> bool:
        """Stop the thread and write the rest with the run's final status."""
        self.stop()
        run = self.run
        ended = run.ended or time.time()
        ok = False
        for attempt in range(3):
            ok = self.flush(status=run.status, ended=ended, error=run.error)
            if ok or self._gave_up or not self._inserted:
                break
            time.sleep(0.2 * (attempt + 1))
        LIVE_RUNS.discard(run.id)
        return ok
