"""The one background thread of an inference monitor: it drains the calls the
caller's thread queued into the :class:`~.processor.Processor`, writes series,
checks the alert rules and refreshes the live panel, a few times a second. The
caller's thread never waits for any of it.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any


class Worker:
    """The daemon thread: drain, write series, check alerts, refresh the panel."""

    def __init__(self, mon: Any, period: float) -> None:
        self.mon = mon
        self.period = period
        self._stop = threading.Event()
        self._last = 0.0  # wall time of the last full round
        self._tick_lock = threading.Lock()  # sync() from another thread waits its turn
        self._thread = threading.Thread(target=self._loop, name="nbmonitor-inference",
                                        daemon=True)

    def start(self) -> "Worker":
        self._thread.start()
        return self

    def tick(self, draining: bool = False) -> None:
        """One round of work; reports errors on the run, never raises. ``draining``:
        only empty the queue unless a period passed since the last full round."""
        with self._tick_lock:
            self._tick(draining)

    def _tick(self, draining: bool) -> None:
        mon = self.mon
        try:
            mon.processor.drain()
            now = time.time()
            if draining and now - self._last < self.period:
                return  # catching up: series, alerts and the panel at their own pace
            self._last = now
            mon.processor.write_series(now)
            mon.processor.write_quality(now)
            if mon.alerts is not None:
                mon.alerts.check()
            if mon.panel is not None:
                mon.panel.refresh()
        except Exception as e:  # statistics must never break the model's callers
            msg = f"inference statistics: {type(e).__name__}: {e}"
            if not mon._reported:
                mon._reported = True
                print(f"nbmonitor: {msg}", file=sys.stderr)
                mon.run.event("note", msg)

    def _loop(self) -> None:
        queue = self.mon._queue
        while not self._stop.wait(0.0 if len(queue) > 1000 else self.period):
            self.tick(draining=True)  # no pause while calls pile up: the queue is bounded

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
