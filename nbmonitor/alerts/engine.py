"""``AlertEngine``: evaluates rules on a run's new points and carries out actions.

It runs on the refresher thread (never the training thread). Each :meth:`check`
reads, per watched series, only the points appended since the previous check
(``Series.count`` and ``Series.tail``), hands them to every rule that watches the
series, and for each hit records an ``alert`` event at the hit's own step, then
acts: ``stop`` asks the run to stop, ``lr*F`` queues ``Run.scale_lr`` (the hooks
apply it at the next step), ``call`` and every ``on_alert`` handler get the
:class:`Alert`. A rule or a function that raises is disabled, with an
``alert_error`` event; nothing here ever raises into the run (not even a function
raising ``KeyboardInterrupt`` or ``SystemExit``: the refresher must go on, or a
``-> stop`` rule would never act).

Virtual series: ``gpu{i}/mem_pct`` is ``100 * gpu{i}/mem_used / gpu{i}/mem_total``
at each memory reading, so ``gpu*/mem_pct > 95`` watches GPU memory.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .rules import Action, Hit, Points, Rule

_MEM_USED = re.compile(r"^(gpu\d+)/mem_used$")


@dataclass(frozen=True)
class Alert:
    """What an ``on_alert`` function (or a ``call`` action) receives."""

    rule: str  # the rule, as text
    series: str
    step: float
    time: float
    value: float
    message: str
    run_id: str
    run_name: str


class AlertEngine:
    """The rules of one run and their per-series state."""

    def __init__(self, run: Any, rules: Sequence[Rule] = (),
                 handlers: list[Callable[[Alert], Any]] | None = None) -> None:
        self.run = run
        self.rules: list[Rule] = list(rules)
        self.handlers = handlers if handlers is not None else []  # read live
        self.alerts: list[Alert] = []
        self._disabled: set[int] = set()
        self._bad_fns: set[int] = set()
        self._state: dict[tuple[int, str], dict] = {}
        self._seen: dict[str, int] = {}

    def add(self, rule: Rule) -> None:
        """Watch ``rule`` too, from the next check on (new points only)."""
        self.rules.append(rule)

    # -- reading -----------------------------------------------------------
    def _epochs(self) -> tuple[np.ndarray, np.ndarray] | None:
        with self.run._events_lock:
            marks = [(e.step, e.data.get("epoch", 0)) for e in self.run.events
                     if e.kind == "epoch"]
        if not marks:
            return None
        return np.array([m[0] for m in marks]), np.array([m[1] for m in marks], float)

    def _new_points(self, watched: Callable[[str], bool]) -> list[Points]:
        buffer = self.run.buffer
        epochs = self._epochs()
        out = []
        for series in list(buffer):
            name = series.name
            mem = _MEM_USED.match(name)
            virtual = f"{mem.group(1)}/mem_pct" if mem else None
            if not watched(name) and not (virtual and watched(virtual)):
                continue
            count = series.count
            new = count - self._seen.get(name, 0)
            if new <= 0:
                continue
            self._seen[name] = count
            steps, values, times = series.tail(new)
            index = np.arange(count - len(steps), count)
            ep = None
            if epochs is not None:
                at = np.searchsorted(epochs[0], steps, side="left") - 1
                ep = epochs[1][np.maximum(at, 0)]
            if watched(name):
                out.append(Points(name, steps, values, times, index, ep))
            if virtual and watched(virtual):
                pct = self._mem_pct(buffer, mem.group(1), values)
                if pct is not None:
                    out.append(Points(virtual, steps, pct, times, index, ep))
        return out

    @staticmethod
    def _mem_pct(buffer: Any, gpu: str, used: np.ndarray) -> np.ndarray | None:
        name = f"{gpu}/mem_total"
        if name not in buffer:
            return None
        total = buffer.series(name).tail(len(used))[1]
        if len(total) != len(used):
            total = np.full(len(used), total[-1] if len(total) else np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, 100.0 * used / total, np.nan)

    # -- checking ----------------------------------------------------------
    def check(self, act: bool = True) -> list[Alert]:
        """Evaluate every enabled rule on the new points; returns the new alerts.
        ``act=False`` (the run is over): record and call functions, but do not stop
        or change the learning rate."""
        live = [(i, r) for i, r in enumerate(list(self.rules)) if i not in self._disabled]
        if not live:
            return []
        try:
            batch = self._new_points(lambda n: any(r.matches(n) for _, r in live))
        except Exception as e:  # a series we cannot read: report, keep going
            self.run.event("alert_error", f"alerts: reading points failed: {e}")
            return []
        fired: list[Alert] = []
        for i, rule in live:
            for pts in batch:
                if not rule.matches(pts.name):
                    continue
                try:
                    hits = rule.check(pts, self._state.setdefault((i, pts.name), {}))
                except BaseException as e:
                    self._disabled.add(i)
                    self.run.event("alert_error", f"alert rule '{rule}' disabled: "
                                   f"{type(e).__name__}: {e}", rule=str(rule))
                    break
                for hit in hits:
                    fired.append(self._fire(rule, pts.name, hit, act))
        return fired

    def _fire(self, rule: Rule, series: str, hit: Hit, act: bool = True) -> Alert:
        run = self.run
        message = hit.message + self._context(series, hit.step)
        alert = Alert(str(rule), series, hit.step, hit.time, hit.value, message,
                      run.id, run.name)
        self.alerts.append(alert)
        acts = [a for a in rule.actions if a.kind != "show"]
        shown = [str(a) for a in acts]
        run.event("alert", message + (f" -> {', '.join(shown)}" if shown else ""),
                  step=hit.step, rule=str(rule), series=series, value=hit.value,
                  actions=shown)
        for action in acts:
            if act or action.kind == "call":
                self._act(action, alert)
        for fn in list(self.handlers):
            self._call(fn, alert)
        return alert

    def _context(self, series: str, step: float) -> str:
        """What a hook said about this point (``context`` events: the torch hooks
        name the first parameter holding a non-finite gradient)."""
        with self.run._events_lock:
            for e in reversed(self.run.events):
                if (e.kind == "context" and e.data.get("series") == series
                        and e.step == step):
                    return f" ({e.message})"
        return ""

    def _act(self, action: Action, alert: Alert) -> None:
        if action.kind == "stop":
            if not self.run.stop_requested:
                self.run.request_stop()
        elif action.kind == "lr":
            self.run.scale_lr(action.factor, f"alert: {alert.rule}")
        elif action.kind == "call" and action.fn is not None:
            self._call(action.fn, alert)

    def _call(self, fn: Callable[[Alert], Any], alert: Alert) -> None:
        if id(fn) in self._bad_fns:
            return
        try:
            fn(alert)
        except BaseException as e:  # KeyboardInterrupt/SystemExit too: see module doc
            self._bad_fns.add(id(fn))
            name = getattr(fn, "__qualname__", repr(fn))
            self.run.event("alert_error", f"alert function {name} disabled: "
                           f"{type(e).__name__}: {e}", function=name)
