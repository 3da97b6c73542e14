"""One trial: the training function inside a monitored run, with pruning from the hooks.

The objective series (``"val/loss"``...) is read at optimizer step boundaries by a
global optimizer step hook registered after nbmonitor's own torch hooks: each new
value (at most every ``report_every`` steps, and at every epoch change) is reported
to the Optuna trial as an intermediate value at the index of that point (with up
to ``BACKLOG`` points logged since the last report; the session's refresher also
reports, without pruning, for loops with no optimizer steps). When the
pruner says so the run is asked to stop and :class:`StopRun` is raised right there,
so a pruned trial ends at that step boundary. A loop with no optimizer step
(``nbmonitor.log`` only, printed metrics, boosting rounds) is checked from the
session's refresher instead (:meth:`PruningReporter.poll`): the stop request then
lands at the loop's next stop point (see ``nbmonitor.stops``).
"""
from __future__ import annotations

import inspect
import math
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ..hooks import StopRun
from ..run import Run
from ..session import Session
from .values import objective_value


BACKLOG = 20  # earlier points reported per check, besides the latest


@dataclass
class Outcome:
    """How a trial ended: ``state`` is ``complete``, ``pruned`` or ``failed``."""

    state: str
    value: float | None = None
    error: str | None = None
    run: Run | None = None
    curve: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


class PruningReporter:
    """Reports the objective to ``trial`` from the torch step hooks; prunes."""

    def __init__(self, run: Run, trial: Any, objective: str, *, prune: bool,
                 report_every: int = 10) -> None:
        self.run = run
        self.trial = trial
        self.objective = objective
        self.prune = prune
        self.report_every = max(1, int(report_every))
        self.reported = 0  # points of the objective series already reported
        self.last_step = 0
        self.last_epoch = 0
        self.pruned = False
        self.stepped = False  # an optimizer step hook call came: poll() only reports
        self._handle: Any = None
        self._lock = threading.Lock()  # the step hook and the refresher both report
        self._unjudged = False  # a value was reported that the pruner has not seen

    def install(self) -> "PruningReporter":
        """Register the step hook (after nbmonitor's torch hooks); no-op without torch."""
        if "torch" in sys.modules:
            from torch.optim.optimizer import register_optimizer_step_post_hook
            self._handle = register_optimizer_step_post_hook(self._on_step)
        return self

    def remove(self) -> None:
        """Unregister the hook."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def poll(self) -> None:
        """From the refresher thread: report the objective live; judge pruning too for
        loops that make no optimizer step (the step hook judges the others)."""
        if self.pruned:
            return
        self.check(prune=self.prune and not self.stepped)

    def _on_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.stepped = True
        run = self.run
        if run.step - self.last_step < self.report_every and run.epoch == self.last_epoch:
            return
        if self.check():
            raise StopRun(f"pruned at step {run.step}")

    def check(self, prune: bool = True) -> bool:
        """Report the objective points logged since the last check (each at its index,
        so other processes see whole curves); True when the trial should stop (pruned;
        never with ``prune=False``, what the refresher uses to report live the values
        of loops without optimizer steps)."""
        with self._lock:
            return self._check(prune)

    def _check(self, prune: bool) -> bool:
        run = self.run
        if self.objective not in run.buffer:
            return False
        series = run.buffer.series(self.objective)
        count = series.count
        if count > self.reported:
            self._report(series, count)
        if not (prune and self._unjudged):
            return False  # the refresher reports; the step hook judges what it reported
        self._unjudged = False
        self.last_step, self.last_epoch = run.step, run.epoch
        value = series.last_value
        if self.prune and math.isfinite(value) and self.trial.should_prune():
            self.pruned = True
            run.event("tuning", f"pruned: {self.objective}={value:.4g} at point {count - 1}")
            run.request_stop()
            return True
        return False

    def _report(self, series: Any, count: int) -> None:
        """Report the points ``reported..count`` as intermediate values."""
        if count - self.reported > 1:  # points logged since the last check
            values = series.arrays()[1]
            if len(values) == count:  # (not when long history was downsampled)
                # each report is a database write: an objective logged every step
                # reports its latest BACKLOG points per check (the run store has all)
                for index in range(max(self.reported, count - 1 - BACKLOG), count - 1):
                    if math.isfinite(values[index]):
                        self.trial.report(float(values[index]), index)
        value = series.last_value
        self.reported = count
        if math.isfinite(value):
            self.trial.report(float(value), count - 1)
            self._unjudged = True


class TrialSession(Session):
    """A :class:`Session` whose live view is placed by the tuner (``view_factory``)
    instead of displayed on its own, and which leaves the freezing to the tuner."""

    def __init__(self, *args: Any, view_factory: Callable[[Run, int], Any] | None = None,
                 on_refresh: Callable[[Run], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._view_factory = view_factory
        self._on_refresh = on_refresh
        self.reporter: PruningReporter | None = None  # polled from refresh()

    def _open_view(self, run: Run) -> None:
        if self._view_factory is not None:
            self.view = self._view_factory(run, self.max_points)
        else:
            super()._open_view(run)

    def refresh(self) -> None:
        if self._view_factory is not None:
            # The trial's dashboard lives inside the tuner: no parent message, so
            # executors save none of its state (see ..widgets.unsaved).
            from ..widgets.unsaved import run_detached
            run_detached(super().refresh)
        else:
            super().refresh()
        if self.reporter is not None:
            try:
                self.reporter.poll()
            except Exception:  # the study's database is busy or away: next refresh
                pass
        if self._on_refresh is not None and self.run is not None:
            try:
                self._on_refresh(self.run)
            except Exception:  # the tuner's display must never break training
                pass

    def _freeze(self) -> None:
        if self._view_factory is None:
            return super()._freeze()
        self.refresh()
        close = getattr(self.view, "close", None)
        if close is not None and self.frontend == "widgets":
            close()


def error_tail(exc: BaseException, lines: int = 6) -> str:
    """The last lines of ``exc``'s traceback (what the results table shows)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_trial(fn: Callable[..., Any], config: dict[str, Any], trial: Any, *,
              objective: str, name: str, prune: bool, report_every: int,
              session_options: dict[str, Any]) -> Outcome:
    """Train once with ``config`` in a monitored run; never raises for a failing
    function (the outcome is ``failed`` with the end of its traceback);
    KeyboardInterrupt propagates after the run is recorded."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    epochs = config.get("epochs")
    session = TrialSession(name, hparams={**config, "trial": trial.number}, source=source,
                           epochs=epochs if isinstance(epochs, int) and epochs > 0 else None,
                           **session_options)
    reporter = None
    result = None
    try:
        with session as run:
            _note_run(trial, run)
            reporter = PruningReporter(run, trial, objective, prune=prune,
                                       report_every=report_every).install()
            session.reporter = reporter
            try:
                result = fn(**config)
            finally:
                session.reporter = None
                reporter.remove()
    except Exception as e:
        return Outcome("failed", error=error_tail(e), run=session.run,
                       curve=_curve(session.run, objective))
    run = session.run
    curve = _curve(run, objective)
    if reporter is not None and reporter.pruned:
        return Outcome("pruned", value=_last(curve), run=run, curve=curve)
    if run.status == "stopped":
        return Outcome("failed", error="stopped by the user", run=run, curve=curve)
    try:
        value = objective_value(result, run, objective)
    except (TypeError, ValueError) as e:
        return Outcome("failed", error=str(e), run=run, curve=curve)
    if value is None or not math.isfinite(value):
        why = ("is not finite" if value is not None else
               f"is missing: the function returned nothing and logged no {objective!r}")
        return Outcome("failed", error=f"objective {why}", run=run, curve=curve)
    if reporter is not None:
        reporter.prune = False
        reporter.check()  # report the last point too, without pruning a finished run
    return Outcome("complete", value=value, run=run, curve=curve)


def _note_run(trial: Any, run: Run) -> None:
    """Record the run's id in the trial at its start, so that other processes
    read its curve from the store while it trains."""
    try:
        trial.set_user_attr("run_id", run.id)
    except Exception:  # the study's database is away: the end of the trial retries
        pass


def _curve(run: Run | None, objective: str) -> tuple[list[float], list[float]]:
    if run is None or objective not in run.buffer:
        return [], []
    steps, values, _ = run.buffer.series(objective).arrays()
    return steps.tolist(), values.tolist()


def _last(curve: tuple[list[float], list[float]]) -> float | None:
    return curve[1][-1] if curve[1] else None
