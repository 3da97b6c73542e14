"""``Tuner``: a training function's search space, one run at a time or a sweep.

Usable without a display (scripts, workers); in a Jupyter kernel it shows as the
tuner widget (controls, Run, Sweep, live dashboard, curves, table). Each trial is a
monitored run recorded in the run store; the study lives in Optuna's storage.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Callable, Iterator

from . import engine, results, share
from .heartbeat import HEARTBEAT_S, Heartbeat
from .objective import Outcome, run_trial
from .space import build_space
from .stored import StoredCurves, check_store, store_ref


class Tuner:
    """Tune ``fn``'s keyword arguments: ``Tuner(train, lr=LogUniform(1e-5, 1e-1),
    batch_size=[32, 64], dropout=(0.0, 0.5), objective="val/loss")``.

    ``objective`` names the series (logged or captured) whose last value is the
    trial's result unless ``fn`` returns a number; ``direction`` is ``"minimize"``
    or ``"maximize"``. The study ``study_name`` (default: the function's name) lives
    in ``storage``: default ``tuning.db`` beside the run store, ``":memory:"``, or
    any Optuna URL such as ``postgresql://...`` to share it with workers.
    ``report_every`` is how many optimizer steps apart the objective is reported for
    pruning (also at each epoch). ``session`` holds options of every trial's
    :class:`~nbmonitor.session.Session` (``meters``, ``store``, ``refresh_hz``).
    Ranges may also be given as ``space={...}`` when a name clashes with an option.
    ``record`` writes what a worker needs into the study (see :meth:`worker_command`).
    In a notebook the tuner's output becomes a static snapshot (and its widgets are
    closed) when a run or sweep ends; ``keep_live=True`` keeps the widget too.
    On a database storage, the trials this process runs send a heartbeat every
    ``heartbeat`` seconds (None: off); a trial whose process died is marked failed
    within two intervals and, with ``retry_failed=N``, queued again up to N times.
    """

    def __init__(self, fn: Callable[..., Any], *, objective: str = "val/loss",
                 direction: str = "minimize", study_name: str | None = None,
                 storage: Any = None, report_every: int = 10, seed: int | None = None,
                 session: dict[str, Any] | None = None, space: dict[str, Any] | None = None,
                 record: bool = True, keep_live: bool = False,
                 heartbeat: int | None = HEARTBEAT_S, retry_failed: int = 0,
                 **ranges: Any) -> None:
        self.fn = fn
        self.space = build_space(fn, {**(space or {}), **ranges})
        self.objective = objective
        self.direction = direction
        self.study_name = study_name or getattr(fn, "__name__", "study")
        check_store((session or {}).get("store"))
        self.study = engine.open_study(self.study_name, storage, direction,
                                       heartbeat=heartbeat, retry_failed=retry_failed)
        self.storage_url = engine.storage_url(self.study)
        if record:
            share.check_objective(self.study, self.study_name, objective)
        self.report_every = report_every
        self.seed = seed
        self.session_options: dict[str, Any] = dict(session or {})
        self.store_ref = store_ref(self.session_options.get("store"))
        self._stored = StoredCurves(self)
        self._heartbeat: Heartbeat | None = None
        self.values: dict[str, Any] = {n: p.default for n, p in self.space.items()}
        self.curves: dict[int, tuple[list[float], list[float]]] = {}
        self.widget_view: Any = None  # the TunerWidget, once displayed
        self._listeners: list[Callable[[str, Any], None]] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self.record = record
        self.keep_live = keep_live
        if record:  # what a worker needs to run trials of this study
            share.record(self)

    @classmethod
    def from_study(cls, study_name: str, storage: Any = None, target: str | None = None,
                   *, trust_study: bool = False, **options: Any) -> "Tuner":
        """The tuner recorded in study ``study_name`` as a worker runs it, training
        ``target`` (``"module:function"``). The function the study names is imported
        only with ``trust_study=True``: whoever can write to the study's database
        chooses it. ValueError without a recipe or a target."""
        return share.tuner_from_study(cls, study_name, storage, target,
                                      trust_study=trust_study, **options)

    def worker_command(self) -> str:
        """The shell command that runs trials of this study from another process;
        ValueError if the study is in memory or the function is not importable."""
        return share.worker_command(self)

    # -- training ------------------------------------------------------------
    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """The full configuration for ``values`` over the current ones; ValueError
        for an unknown name or a value outside its range."""
        unknown = sorted(set(values) - set(self.space))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}; "
                             f"{self.fn.__name__}() takes {list(self.space)}")
        config = dict(self.values)
        for name, value in values.items():
            config[name] = self.space[name].check(value)
        return config

    def run(self, **values: Any) -> Outcome:
        """Train once with the current values overridden by ``values`` (recorded as
        a trial of the study, without pruning); returns the trial's outcome."""
        config = self.check(values)
        searched = {n: config[n] for n, p in self.space.items() if p.searched}
        self._auto_show()
        with self._exclusive(), Heartbeat(self.study) as self._heartbeat:
            self.study.sampler = engine.optuna().samplers.RandomSampler()
            self.study.enqueue_trial(searched)
            try:
                return self._trial(prune=False, base=config)
            finally:
                self._emit("end", None)

    def sweep(self, method: str = "tpe", n_trials: int | None = None, pruning: bool = True,
              *, seed: int | None = None, sampler: Any = None, pruner: Any = None,
              background: bool = False) -> Any:
        """Run ``n_trials`` trials (default: the whole grid, or 12) with ``method``
        (``grid``, ``random``, ``tpe``) and median pruning when ``pruning``.
        A failing trial is recorded as failed and the sweep goes on. Returns
        :attr:`results`; with ``background=True`` returns at once (see :meth:`wait`)."""
        if method not in engine.METHODS and sampler is None:
            raise ValueError(f"unknown sweep method {method!r}; use one of {engine.METHODS}")
        if n_trials is None:
            n_trials = engine.grid_size(self.space) if method == "grid" else 12
        if n_trials < 1:
            raise ValueError("n_trials must be at least 1")
        seed = self.seed if seed is None else seed
        smp = sampler or engine.sampler(method, self.space, n_trials, seed)
        prn = pruner or engine.pruner(pruning)
        if self.record and sampler is None and isinstance(pruning, bool):
            share.record(self, method=method, pruning=pruning)
        self._auto_show()
        if background:
            self._thread = threading.Thread(
                target=self._sweep, args=(smp, prn, n_trials, pruning), daemon=True,
                name="nbmonitor-tuner")
            self._thread.start()
            return self._thread
        self._sweep(smp, prn, n_trials, pruning)
        return self.results

    def _sweep(self, smp: Any, prn: Any, n_trials: int, pruning: Any) -> None:
        with self._exclusive(), Heartbeat(self.study) as self._heartbeat:
            self.study.sampler, self.study.pruner = smp, prn
            self._emit("sweep_start", n_trials)
            try:
                for _ in range(n_trials):
                    if self._stopping:
                        break
                    self._trial(prune=bool(pruning))
            finally:
                self._emit("end", None)

    def _trial(self, prune: bool, base: dict[str, Any] | None = None) -> Outcome:
        trial = self.study.ask(engine.distributions(self.space))
        if self._heartbeat is not None:
            self._heartbeat.beat_for(trial)
        config = {**(base or self.values), **trial.params}
        trial.set_user_attr("config", results.jsonable(config))
        trial.set_user_attr("worker", share.worker_id())
        trial.set_user_attr("store", self.store_ref)
        name = f"{self.study_name}#{trial.number}"
        options = dict(self.session_options)
        if self.widget_view is not None:  # the trial's dashboard goes inside the tuner
            options.update(frontend="widgets", view_factory=self.widget_view.trial_view,
                           on_refresh=self.widget_view.trial_refresh)
        self._emit("trial_start", trial.number)
        try:
            outcome = run_trial(self.fn, config, trial, objective=self.objective, name=name,
                                prune=prune, report_every=self.report_every,
                                session_options=options)
        except BaseException as e:  # KeyboardInterrupt: record it, then let it go
            if self._heartbeat is not None:
                self._heartbeat.beat_for(None)
            engine.tell(self.study, trial, Outcome("failed", error=f"{type(e).__name__}"))
            self._emit("trial_end", trial.number)
            raise
        if self._heartbeat is not None:
            self._heartbeat.beat_for(None)
        self.curves[trial.number] = outcome.curve
        engine.tell(self.study, trial, outcome)
        self._emit("trial_end", trial.number)
        return outcome

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("this tuner is already running a trial or a sweep")
        self._stopping = False
        try:
            yield
        finally:
            self._busy.release()

    def stop(self) -> None:
        """End the sweep: the current trial stops at its next step boundary."""
        self._stopping = True
        from ..api import current_run
        run = current_run()
        if run is not None:
            run.request_stop()

    def fail_stale(self) -> None:
        """Fail now (and retry, with ``retry_failed``) the study's running trials whose
        process stopped sending heartbeats; a sweep does this on its own."""
        Heartbeat(self.study).reap()

    def wait(self, timeout: float | None = None) -> Any:
        """Wait for a background sweep; returns :attr:`results`."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.results

    # -- reading -------------------------------------------------------------
    @property
    def results(self) -> Any:
        """A DataFrame, a row per trial of the study (all processes)."""
        return results.table(self.study, self.objective, list(self.space))

    @property
    def best_params(self) -> dict[str, Any]:
        """Every value the best complete trial trained with; ValueError if none."""
        number = results.best_number(self.study)
        if number is None:
            raise ValueError(f"study {self.study_name!r} has no completed trial yet")
        config = results.config_of(self.study.best_trial)
        return {n: config.get(n, self.values[n]) for n in self.space}

    @property
    def best_value(self) -> float | None:
        """The best objective value so far, or None."""
        return self.study.best_value if results.best_number(self.study) is not None else None

    def objective_curves(self) -> dict[int, tuple[list[float], list[float]]]:
        """Objective curve per trial: the series of trials run here or stored by the
        process that ran them where this tuner can read it, else reported values."""
        return results.curves(self.study, {**self._stored.curves(self.curves),
                                           **self.curves})

    def apply_best(self) -> dict[str, Any]:
        """Set the current values (and the controls) to the best trial's."""
        self.values.update(self.best_params)
        self._emit("values", None)
        return dict(self.values)

    # -- observers and display ----------------------------------------------
    def subscribe(self, listener: Callable[[str, Any], None]) -> None:
        """Call ``listener(event, data)`` on sweep_start, trial_start,
        trial_end, end (of a sweep or a single run) and values (set by apply_best)."""
        self._listeners.append(listener)

    def detach(self, view: Any) -> None:
        """Forget the widget ``view`` (frozen): no more events to it, and the next
        display or run shows a new one."""
        self._listeners = [f for f in self._listeners if getattr(f, "__self__", None)
                           is not view]
        if self.widget_view is view:
            self.widget_view = None

    def _emit(self, event: str, data: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, data)
            except Exception as e:  # a display problem never stops a sweep
                print(f"nbmonitor tuner: {event}: {type(e).__name__}: {e}", file=sys.stderr)

    def widget(self) -> Any:
        """The :class:`~nbmonitor.tuning.widget.TunerWidget` of this tuner."""
        if self.widget_view is None:
            from ..widgets.unsaved import run_detached
            from .widget import TunerWidget
            # Built with no parent message: executors save none of its state.
            self.widget_view = run_detached(TunerWidget, self)
        return self.widget_view

    def _auto_show(self) -> None:
        """In a kernel, a run or sweep from code shows the tuner if nothing does yet."""
        from ..env import frontend
        if self.widget_view is None and frontend() == "widgets":
            self._ipython_display_()

    def _ipython_display_(self) -> None:
        self.widget().show()

    def __repr__(self) -> str:
        searched = [n for n, p in self.space.items() if p.searched]
        return (f"Tuner({self.fn.__name__}, study={self.study_name!r}, searched={searched}, "
                f"trials={len(self.study.trials)})")
