"""A run: its identity, status, progress counters and series."""
from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .buffer import MetricsBuffer

STATUSES = ("running", "finished", "failed", "interrupted", "stopped", "crashed")

_counter = itertools.count(1)


@dataclass
class Event:
    """Something that happened during a run (an alert, a control change)."""

    kind: str
    message: str
    step: float
    time: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)


class Run:
    """One monitored run. Hooks write counters and series; readers only read.

    ``step`` is the global step (optimizer steps, or what ``nbmonitor.log`` is
    given); ``epoch`` counts passes over the training data; ``total_steps`` is
    known when the magic or the framework tells it, and drives the ETA.
    """

    def __init__(self, name: str | None = None, *, total_steps: int | None = None,
                 hparams: dict[str, Any] | None = None, source: str = "",
                 buffer: MetricsBuffer | None = None) -> None:
        n = next(_counter)
        self.id = uuid.uuid4().hex[:12]
        self.name = name or f"run-{n}"
        self.status = "running"
        self.error: str | None = None
        self.started = time.time()
        self.ended: float | None = None
        self.step = 0
        self.epoch = 0
        self.total_steps = total_steps
        self.hparams: dict[str, Any] = dict(hparams or {})
        self.source = source
        self.buffer = buffer if buffer is not None else MetricsBuffer()
        self.events: list[Event] = []
        self.paused = False
        self.device_sink = None  # set by the torch hooks: takes device scalars
        self.hooks_count_steps = False  # True once optimizer hooks drive ``step``
        self.explicit_steps = False  # True once ``log(step=...)`` gave a step
        # Which framework hook drives ``step`` and records the loss right now
        # ("keras" while Model.fit runs): the others then leave both alone.
        self.step_owner: str | None = None
        # Which framework hook ends the run on a stop request ("lightning" while
        # Trainer.fit runs: it sets trainer.should_stop); the torch hooks then
        # don't raise StopRun at the optimizer step.
        self.stop_owner: str | None = None
        self.stop_requested = False
        # Where a hook acted on the stop request ("" until one did: see nbmonitor.stops).
        self.stop_honoured = ""
        # True while a stop or a pause waits for a stop point: the one attribute
        # ``nbmonitor.log`` and print capture read per call (see nbmonitor.stops).
        self.halt = False
        # --stop-on-nan: the hooks that read a value on the training thread stop at
        # its step (the alert rule, on the refresher, would land a few steps later).
        self.stop_on_nan = False
        # The thread that opened the run (its body's, unless in background mode).
        self.opened_by: int | None = None
        # Learning-rate changes queued by other threads, applied by the hooks at the
        # next step boundary (see scale_lr / apply_pending and nbmonitor.lr).
        self._lr_scale: float | None = None
        self._lr_reasons: list[str] = []
        self._lr_lock = threading.Lock()
        # Knobs (see knobs.py): current values, declared by the hook that found the
        # optimizer; changes wait in ``_pending`` until the hook applies them at a
        # step boundary, then go to ``hparams_history`` and to a "control" event.
        self.knobs: dict[str, float] = {}
        self.hparams_history: list[dict[str, Any]] = []
        self.has_pending = False
        self._pending: dict[str, float] = {}
        # The thread whose steps and prints are this run's (None: any thread).
        self.thread_ident: int | None = None
        self._events_lock = threading.Lock()
        self._resume = threading.Event()
        self._resume.set()
        # it/s over a sliding window of (time, step) samples, kept by the refresher.
        self._rate_samples: list[tuple[float, int]] = []

    # -- writing -----------------------------------------------------------
    def log(self, name: str, value: float, step: float | None = None) -> None:
        """Append ``value`` to series ``name`` at ``step`` (default: current step)."""
        self.buffer.append(name, self.step if step is None else step, value)

    def log_auto(self, name: str, value: float, step: float | None = None,
                 t: float | None = None) -> None:
        """Append at ``step``; else at the global step when hooks or explicit steps
        drive it; else at the series' own index (plain printed or logged loops)."""
        series = self.buffer._series.get(name) or self.buffer.series(name)
        if step is None:
            step = self.step if (self.hooks_count_steps or self.explicit_steps) else series.count
        elif not self.hooks_count_steps:
            self.explicit_steps = True
        if step > self.step and not self.hooks_count_steps and step < math.inf:
            self.step = min(int(step), (1 << 63) - 1)
        series.append(step, value, t)

    def set_epoch(self, epoch: int) -> None:
        """Move to ``epoch`` (recorded as an event when it changes)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.event("epoch", f"epoch {epoch}", epoch=epoch)

    def event(self, kind: str, message: str, *, step: float | None = None,
              **data: Any) -> Event:
        """Record an event at ``step`` (default: the current step)."""
        ev = Event(kind, message, float(self.step if step is None else step), data=data)
        with self._events_lock:
            self.events.append(ev)
        return ev

    def set_control(self, name: str, value: float) -> bool:
        """Ask for knob ``name`` to become ``value`` at the next step boundary.
        Thread-safe; the last request before the boundary wins. False (ignored)
        once the run ended or when the optimizer has no such knob."""
        if self.status != "running" or name not in self.knobs:
            return False
        with self._events_lock:
            self._pending[name] = float(value)
            self.has_pending = True
        return True

    def take_controls(self) -> dict[str, float]:
        """The pending knob changes, emptied (called by hooks at a step boundary)."""
        with self._events_lock:
            pending, self._pending = self._pending, {}
            self.has_pending = False
        return pending

    def record_control(self, name: str, old: float, new: float) -> Event:
        """A knob change that was applied: event, history, current value."""
        self.knobs[name] = new
        self.hparams_history.append({"step": self.step, "time": time.time(), "name": name,
                                     "old": old, "new": new})
        return self.event("control", f"{name} {old:.4g} -> {new:.4g} at step {self.step}",
                          knob=name, old=old, new=new, at=self.step)

    def pause(self) -> None:
        """Hold the training thread at the next step boundary (ignored once ended)."""
        if self.status != "running":
            return
        self.paused = True
        self.halt = True
        self._resume.clear()
        self.event("control", "paused")

    def resume(self) -> None:
        """Let a paused run go on."""
        if not self.paused:
            return
        self.paused = False
        self.halt = self.stop_requested
        self._resume.set()
        self.event("control", "resumed")

    def stop_at_nan(self, name: str, step: Any) -> None:
        """A value of ``name`` at ``step`` is NaN/inf under ``stop_on_nan``: stop now."""
        if not self.stop_requested:
            self.event("alert", f"{name} is not finite at step {step} -> stop",
                       rule="stop_on_nan", series=name)
            self.request_stop()

    def request_stop(self) -> None:
        """End the run at the next step boundary (ignored once ended)."""
        if self.status != "running" or self.stop_requested:
            return
        self.stop_requested = True
        self.halt = True
        self._resume.set()
        self.event("control", "stop requested")

    def scale_lr(self, factor: float, reason: str = "") -> None:
        """Queue a multiplication of the learning rate by ``factor``; any thread.

        Nothing changes until a hook calls :meth:`apply_pending` on the training
        thread at the next step boundary; factors queued meanwhile multiply.
        """
        if not (factor > 0 and math.isfinite(factor)):
            raise ValueError(f"learning-rate factor must be a positive number, got {factor!r}")
        with self._lr_lock:
            self._lr_scale = (self._lr_scale or 1.0) * factor
            if reason:
                self._lr_reasons.append(reason)

    @property
    def pending_lr_scale(self) -> float | None:
        """The factor queued by :meth:`scale_lr` and not applied yet, or None."""
        return self._lr_scale

    def apply_pending(self, optimizer: Any) -> None:
        """Apply queued learning-rate changes to ``optimizer`` (a torch or Keras
        optimizer); called by the hooks on the training thread. Records an
        ``action`` event; a failure becomes an ``action`` event too, never raises."""
        if self._lr_scale is None:  # the per-step fast path: one attribute read
            return
        with self._lr_lock:
            factor, reasons = self._lr_scale, self._lr_reasons
            self._lr_scale, self._lr_reasons = None, []
        if factor is None:
            return
        from .lr import scale_lr
        why = f" ({'; '.join(reasons)})" if reasons else ""
        try:
            old, new = scale_lr(optimizer, factor)
        except Exception as e:
            self.event("action", f"lr x{factor:g} not applied: {e}{why}", factor=factor)
            return
        pairs = ", ".join(f"{a:.4g} -> {b:.4g}" for a, b in zip(old, new))
        self.event("action", f"lr x{factor:g}: {pairs}{why}", factor=factor, old=old, new=new)

    def wait_resume(self, timeout: float = 0.1) -> None:
        """Block briefly while paused (called by hooks at step boundaries)."""
        self._resume.wait(timeout)

    def finish(self, status: str, error: str | None = None) -> None:
        """Mark the run ended with ``status``."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status = status
        self.error = error
        self.ended = time.time()
        self.paused = False
        self._resume.set()

    # -- reading -----------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the start (to the end once ended)."""
        return (self.ended or time.time()) - self.started

    def rate(self, now: float | None = None) -> float:
        """Steps per second over the last ~10 seconds."""
        now = time.time() if now is None else now
        samples = self._rate_samples
        samples.append((now, self.step))
        while len(samples) > 2 and now - samples[0][0] > 10.0:
            samples.pop(0)
        (t0, s0), (t1, s1) = samples[0], samples[-1]
        if t1 - t0 <= 0:
            return 0.0
        return (s1 - s0) / (t1 - t0)

    def eta(self, rate: float) -> float | None:
        """Seconds left, when the total is known and progress is being made."""
        if not self.total_steps or rate <= 0 or self.ended:
            return None
        left = self.total_steps - self.step
        return max(0.0, left / rate)

    def to_csv(self, path: Any) -> Any:
        """Save the points held in memory as CSV (see :func:`nbmonitor.export.run_to_csv`);
        for a run the store could not take. Returns the path."""
        from .export import run_to_csv
        return run_to_csv(self, path)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per series: last value, best value (min for losses, else max), count."""
        out: dict[str, dict[str, float]] = {}
        for s in self.buffer:
            _, v, _ = s.arrays()
            finite = v[~(v != v)] if len(v) else v
            best = float("nan")
            if len(finite):
                best = float(finite.min() if lower_is_better(s.name) else finite.max())
            out[s.name] = {"last": s.last_value, "best": best, "count": s.count}
        return out


def lower_is_better(name: str) -> bool:
    """Whether a smaller value of this metric is better (losses, errors, lr-free)."""
    n = name.lower()
    return any(k in n for k in ("loss", "err", "mse", "mae", "rmse", "perplex", "ppl",
                                "nll", "cost", "time", "lr", "wer", "cer"))


def fmt_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``02:03`` style duration, ``--`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
