"""``StoreWriter``: a background thread that copies a run into a store.

The training thread never touches SQLite. It only appends to the run's buffer,
whose series keep a drain log (see :mod:`nbmonitor.buffer`) while a writer is
attached. Every ``period`` seconds (0.5 by default, so at least once a second) the
writer drains every series, takes the new events and writes them all, with the
run's step, hyperparameters and a heartbeat, in one transaction: one row per
series per batch, whatever the logging rate. Points are never lost to the
buffer's compaction, since the drain log is independent of it.

Faults stay inside the writer; training is never interrupted:

- A failing write (disk full, a lock held too long) is said once on stderr and
  retried with a bounded exponential backoff (``period`` doubling up to
  ``MAX_BACKOFF_S``) with the points kept in memory, up to ``MAX_PENDING`` points;
  beyond that, points stop being kept for the store (the buffer still holds them
  for the dashboard and :meth:`nbmonitor.run.Run.to_csv`) but the run's status is
  still written. When writes succeed again, that is said once too.
- A batch that fails for its content rather than the disk is written series by
  series; a series the store cannot take is left out, with a message.
- A store file deleted or replaced during the run is said once; the writer then
  creates the store again at that path and writes the run into it anew from
  memory (every point the buffer holds at full resolution, older ones decimated).
- When the final write fails, a message says so and how to save the points.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

import numpy as np

from ..names import short
from ..run import Run
from ..say import say
from .pending import changed, contiguous
from .sqlite import LIVE_RUNS, SqliteStore
from .values import clamp_int

PERIOD_S = 0.5
MAX_BACKOFF_S = 8.0  # longest wait between two tries while writes fail
MAX_PENDING = 8_000_000  # points held in memory while writes fail (~190 MB)
BIG_BATCH = 200_000  # points; after a batch this large the next one starts at once


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
        self._failing = False
        self._fails = 0
        self._next_try = 0.0  # monotonic time of the next try while writes fail
        self._dropped: set[str] = set()  # series the store could not take
        self._moved_said = False
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.last_batch = 0  # points in the last batch written
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
        wait = self.period
        while not self._stop.wait(wait):
            wrote = time.monotonic() >= self._next_try and self.flush()
            # Behind a fast logging loop: the next batch starts at once, so batches
            # (and the memory they hold while drained and written) stay small.
            wait = 0.0 if wrote and self.last_batch >= BIG_BATCH else self.period

    def _report(self, e: BaseException) -> None:
        self.last_error = f"{type(e).__name__}: {e}"
        self._failing = True
        self._fails += 1
        self._next_try = time.monotonic() + min(MAX_BACKOFF_S, self.period * 2 ** self._fails)
        if not self._reported:
            self._reported = True
            say(f"nbmonitor: writing run {short(self.run.name)!r} to {self.store.path} "
                f"failed ({self.last_error}); the run goes on, its points are kept in "
                "memory and the write is retried")

    def _recovered(self) -> None:
        self._fails = 0
        self._next_try = 0.0
        if self._failing:
            self._failing = False
            say(f"nbmonitor: run {short(self.run.name)!r} is stored again in "
                f"{self.store.path}")

    def _check_file(self) -> None:
        """Notice a store file deleted or replaced under the run: create it again
        and rewrite the run into it from memory (raises while that fails)."""
        store = self.store
        if getattr(store, "ino", None) is None:  # not a file (a server-backed store)
            return
        try:
            ino = os.stat(store.path).st_ino
        except OSError:
            ino = None
        if ino == store.ino:
            return
        if not self._moved_said:
            self._moved_said = True
            say(f"nbmonitor: the run store {store.path} was deleted or replaced during "
                f"run {short(self.run.name)!r}; the run is written again into a new "
                "store there from memory")
        from . import reopen
        self.store = reopen(store)
        self._inserted = False
        self._events_done = 0
        self._hparams = None
        self._rewrite_from_memory()

    def _rewrite_from_memory(self) -> None:
        """Pending points := everything the buffer holds, per series, up to the
        points drained so far (later ones come with the next drain)."""
        self._pending.clear()
        self._n_pending = 0
        for s in list(self.run.buffer):
            if s._drain is None or s.name in self._dropped:
                continue
            start, new = s.drain()
            drained = start + new.shape[1]
            st, v, t, count, _ = s._snapshot()
            keep = len(st) - (count - drained)
            if keep > 0:
                self._pending[s.name] = [(0, np.vstack([st[:keep], v[:keep], t[:keep]]))]
                self._n_pending += keep

    def _collect(self) -> None:
        for s in self.run.buffer:
            if s._drain is None:
                continue
            start, pts = s.drain()
            if pts.shape[1] and not self._gave_up and s.name not in self._dropped:
                self._pending.setdefault(s.name, []).append((start, pts))
                self._n_pending += pts.shape[1]
        if self._n_pending > MAX_PENDING and not self._gave_up:
            self._gave_up = True
            self._pending.clear()
            self._n_pending = 0
            say(f"nbmonitor: the store has taken no point of run "
                f"{short(self.run.name)!r} for too long ({MAX_PENDING:,} points waiting); "
                "new points are no longer kept for it (the run's status still is); "
                "run.to_csv(PATH) saves what the run holds in memory")

    def flush(self, **fields: Any) -> bool:
        """Drain the buffer and write one batch; True when written. Never raises."""
        t0 = time.thread_time()
        try:
            return self._flush(fields)
        finally:
            self.cpu_s += time.thread_time() - t0

    def _flush(self, fields: dict[str, Any]) -> bool:
        """:meth:`flush` itself, untimed."""
        run = self.run
        try:
            self._collect()
            self._check_file()
            if not self._insert():
                return False
            points = contiguous(self._pending)
            with run._events_lock:
                events = list(enumerate(run.events[self._events_done:], self._events_done))
            fields = {"step": clamp_int(run.step), **fields}
            if changed(run.hparams, self._hparams):
                fields["hparams"] = dict(run.hparams)
            try:
                self.store.write_batch(run.id, fields, points, events)
            except sqlite3.OperationalError:
                raise  # the disk or a lock: retry the whole batch later
            except Exception:
                self._write_apart(fields, points, events)
        except Exception as e:
            self._report(e)
            return False
        self._recovered()
        self.last_batch = self._n_pending
        self._pending.clear()
        self._n_pending = 0
        self._events_done += len(events)
        self._hparams = fields.get("hparams", self._hparams)
        self.batches += 1
        return True

    def _write_apart(self, fields: dict[str, Any], points: list, events: list) -> None:
        """A batch refused for its content: the run's fields and events first, then
        each series alone; a series still refused is left out with a message."""
        self.store.write_batch(self.run.id, fields, [], events)
        for name in dict.fromkeys(p[0] for p in points):
            try:
                self.store.write_batch(self.run.id, {}, [p for p in points if p[0] == name],
                                       [])
            except sqlite3.OperationalError:
                raise
            except Exception as e:
                self._dropped.add(name)
                say(f"nbmonitor: series {short(name)!r} of run {short(self.run.name)!r} "
                    f"cannot be stored ({type(e).__name__}: {e}); it is left out of the "
                    "store (still shown and in run.to_csv())")

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
        for attempt in range(4):
            ok = self.flush(status=run.status, ended=ended, error=run.error)
            if ok:
                break
            time.sleep(0.2 * 2 ** attempt)
        LIVE_RUNS.discard(run.id)
        if not ok:
            say(f"nbmonitor: the final write of run {short(run.name)!r} to "
                f"{self.store.path} failed ({self.last_error}); {self._n_pending:,} "
                "points are not stored. nbmonitor.last_run().to_csv('run.csv') saves "
                "what the run holds in memory")
        elif self._gave_up:
            say(f"nbmonitor: run {short(run.name)!r} is stored without the points "
                "logged while the store failed; nbmonitor.last_run().to_csv('run.csv') "
                "saves what the run holds in memory")
        return ok
