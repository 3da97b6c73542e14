"""``InferenceMonitor``: a model wrapped so that every call is watched.

On the caller's thread a call costs two clock reads and one append to a bounded
queue; everything else (statistics, drift, quality, series, alerts, the panel)
happens on the monitor's worker thread (see :mod:`.worker`). The monitor is a
run of kind ``inference`` in the run store (tag ``inference``), so
``nbmonitor.runs()`` and ``%monitor_compare`` see it.
"""
from __future__ import annotations

import math
import sys
from collections import deque
from time import perf_counter, time
from typing import Any, Callable, Sequence


from ..run import Run
from .cuda import cuda_event_pairs
from .outputs import NotNumeric, rows_of, to_numpy
from .processor import Processor
from .worker import Worker

DRIFT_RULES = ("drift/psi/* > 0.2", "drift/ks_p/* < 0.01")
# Open monitors by name: re-running the cell that makes one closes the previous one,
# so its worker stops and its port is free for the new one.
_open: dict[str, "InferenceMonitor"] = {}


def _replace(name: str) -> None:
    old = _open.pop(name, None)
    if old is not None and not old.closed:
        print(f"nbmonitor: closing the previous monitor {name!r} ({old.run.id})",
              file=sys.stderr)
        old.close()


MAX_ARRAYS = 2_000  # queued calls whose inputs and outputs are kept for the worker
MAX_QUEUE = 200_000  # queued calls in all (timings only past MAX_ARRAYS); beyond: dropped


class InferenceMonitor:
    """Wraps ``model``: ``mon(x)`` returns exactly what ``model(x)`` returns.

    See :func:`nbmonitor.inference` for the arguments.
    """

    def __init__(self, model: Callable[..., Any], name: str | None = None, *,
                 reference: Any = None, task: str = "auto", window: int = 1000,
                 output: Callable[[Any], Any] | None = None,
                 alerts: Sequence[Any] | None = None, drift_alerts: bool = True,
                 store: Any = None, refresh_hz: float = 4.0, latency_window_s: float = 60.0,
                 quality_window: int = 10_000, source: str = "",
                 namespace: dict[str, Any] | None = None) -> None:
        if not callable(model):
            raise TypeError(f"nbmonitor.inference needs a callable model, not "
                            f"{type(model).__name__}")
        if task not in ("auto", "classification", "regression"):
            raise ValueError("task must be 'auto', 'classification' or 'regression'")
        if int(window) < 10:
            raise ValueError("window must be at least 10 rows")
        if not (refresh_hz > 0 and math.isfinite(refresh_hz)):
            raise ValueError("refresh_hz must be a positive number")
        from ..alerts import as_rule, registered_handlers, registered_rules
        rules = [as_rule(r) for r in (*(DRIFT_RULES if drift_alerts else ()), *(alerts or ()))]
        self.model = model
        self.task = task
        self.window = int(window)
        self.output = output
        self.latency_window_s = latency_window_s
        self.quality_window = quality_window
        self.dropped = 0  # calls not counted at all (the queue was full)
        self.unsampled = 0  # calls counted without their arrays (the worker was behind)
        self.closed = False
        self.panel: Any = None
        self.server: Any = None
        self._displays: list[Any] = []  # display handles of the live panel
        self._reported = False
        self._queue: deque = deque()
        self._feedback: deque = deque()
        self._last_out: Any = None
        self._checked = False
        _replace(name or f"{type(model).__name__.lower()}-inference")
        self.run = Run(name or f"{type(model).__name__.lower()}-inference",
                       hparams={"kind": "inference", "model": type(model).__name__,
                                "window": self.window}, source=source)
        self.processor = Processor(self)
        if reference is not None:
            from .reference import Reference
            ref = Reference(reference, model, output)
            self.processor.set_reference(ref)
            self.run.hparams["features"] = len(ref.names)
            if ref.error:
                self.run.event("note", "output drift against the first window: the model "
                                       f"failed on the reference ({ref.error})")
        self._writer = self._open_store(store, source, namespace)
        from ..alerts import AlertEngine
        self.alerts = AlertEngine(self.run, [*rules, *registered_rules], registered_handlers)
        self._events = cuda_event_pairs(model)
        self._worker = Worker(self, 1.0 / refresh_hz).start()
        _open[self.run.name] = self

    # -- the hot path ------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the model; record the call (exceptions are counted and re-raised)."""
        if self.closed:
            return self.model(*args, **kwargs)
        t = time()
        ev = self._events() if self._events is not None else None
        t0 = perf_counter()
        try:
            out = self.model(*args, **kwargs)
        except Exception as e:
            if len(self._queue) < MAX_QUEUE:
                self._queue.append((t, perf_counter() - t0, None, None, type(e).__name__))
            else:
                self.dropped += 1
            raise
        dt = perf_counter() - t0
        if ev is not None:
            ev[1].record()
        if not self._checked:
            self._check_output(out)
        q = self._queue
        if len(q) < MAX_ARRAYS:
            q.append((t, dt, args[0] if args else None,
                      out if self.output is None else self.output(out), None, ev))
        else:
            self._behind(t, dt, out)
        self._last_out = out
        return out

    def _behind(self, t: float, dt: float, out: Any) -> None:
        """The worker is behind: queue the timing and the row count only, so memory
        stays bounded (drift and output statistics skip this call)."""
        self.unsampled += 1
        if len(self._queue) >= MAX_QUEUE:
            self.dropped += 1
            return
        shape = getattr(out, "shape", None)
        rows = int(shape[0]) if shape else 1
        self._queue.append((t, dt, None, None, None, None, rows))

    def _check_output(self, out: Any) -> None:
        """First call only: a clear error for outputs that are not numbers."""
        try:
            to_numpy(out if self.output is None else self.output(out))
        except NotNumeric as e:
            raise TypeError(f"nbmonitor.inference({self.run.name!r}): {e}") from None
        self._checked = True

    # -- labels --------------------------------------------------------------------
    def feedback(self, y_true: Any, y_pred: Any = None) -> None:
        """True labels for the last call, or for ``y_pred``: what an earlier call
        returned (after ``output=`` when given), since labels may arrive late.
        One label per row; a ValueError otherwise, and nothing is recorded."""
        pred = self._last_out if y_pred is None else y_pred
        if pred is None:
            raise ValueError("feedback: no call yet; pass the predictions too: "
                             "mon.feedback(y_true, y_pred)")
        if self.output is not None and y_pred is None:
            pred = self.output(pred)
        try:
            truth = to_numpy(y_true, "labels")
            n_pred = len(rows_of(to_numpy(pred, "predictions")))
        except NotNumeric as e:
            raise ValueError(f"feedback: {e}") from None
        n_true = len(truth) if truth.ndim else 1
        if n_true != n_pred:
            raise ValueError(f"feedback: {n_true} labels for {n_pred} predictions; give one "
                             "label per row of the call")
        truth = truth.reshape(n_true, -1)
        self._feedback.append((truth[:, 0] if truth.shape[1] == 1 else truth, pred))

    # -- reading -------------------------------------------------------------------
    def sync(self) -> None:
        """Process every call made so far now (the worker does it a few times a
        second anyway); afterwards :meth:`summary` counts them all."""
        self._worker.tick()

    def summary(self) -> dict[str, Any]:
        """The JSON summary served at ``/monitor``: requests, error rate, latency
        percentiles (ms), rows/s, quality, drift, output statistics."""
        from .summary import summary
        return summary(self)

    # -- store, endpoint, display, end ----------------------------------------------
    def _open_store(self, spec: Any, source: str, namespace: dict[str, Any] | None) -> Any:
        from ..store import open_for_run
        store = open_for_run(spec)
        if store is None:
            return None
        from ..store.meta import environment, notebook_path, source_hash
        from ..store.writer import StoreWriter
        env = {**environment(), "kind": "inference"}
        row = {"notebook": notebook_path(namespace), "source": source,
               "source_hash": source_hash(source), "environment": env,
               "tags": '["inference"]'}
        writer = StoreWriter(store, self.run, row)
        writer.start()
        return writer

    def serve(self, port: int = 9108, host: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` (Prometheus) and ``/monitor`` (JSON) on a daemon
        thread; a second call returns the running server. See :mod:`.endpoint`."""
        if self.server is not None:
            return self.server
        from .endpoint import MetricsServer, monitor_collector
        def current() -> dict[str, Any]:
            self.sync()  # every call made until the request counts
            return self.summary()
        self.server = MetricsServer(monitor_collector(self), current, port, host)
        return self.server

    def _ipython_display_(self) -> None:
        from .display import show
        show(self)

    def close(self) -> None:
        """Stop the server and the worker, write the run's last points and status,
        and freeze the live panel. The wrapper keeps calling the model, unrecorded."""
        if self.closed:
            return
        self.closed = True
        if _open.get(self.run.name) is self:
            del _open[self.run.name]
        problems = []
        if self.server is not None:
            try:
                self.server.close()
            except Exception as e:
                problems.append(f"stopping the server: {e}")
        self._worker.stop()
        self._worker.tick()  # the calls still queued
        try:
            self.alerts.check(act=False)
        except Exception as e:  # pragma: no cover - check() reports its own errors
            problems.append(f"alerts: {e}")
        self.run.finish("finished")
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as e:
                problems.append(f"closing the run store: {e}")
        from .display import freeze
        freeze(self)
        for p in problems:
            print(f"nbmonitor: {p}", file=sys.stderr)

    def __enter__(self) -> "InferenceMonitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.processor.latency
        return (f"<InferenceMonitor {self.run.name!r} ({self.run.id}) "
                f"{'closed' if self.closed else 'open'}: {s.calls:,} calls>")
