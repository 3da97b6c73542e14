"""A monitored block of code: opens a run, installs hooks, shows and refreshes the
dashboard, and on the way out, however the block ended, undoes everything and
freezes the output."""
from __future__ import annotations

import contextvars
import importlib
import sys
import threading
import traceback
from functools import partial
from typing import Any, Sequence

from . import stops
from .env import frontend as detect_frontend
from .hooks import StopRun
from .interrupts import deferred_interrupts
from .run import Run
from .totals import estimate_epochs

# (module the cell uses, nbmonitor hook module): patched only when that module is used.
FRAMEWORK_HOOKS = (("transformers", "hf_trainer"), ("xgboost", "xgboost_hooks"),
                   ("lightgbm", "lightgbm_hooks"))

_active: "Session | None" = None
_last_run: Run | None = None
_active_lock = threading.Lock()


def active_session() -> "Session | None":
    """The session running now in this process, if any."""
    return _active


def last_run() -> Run | None:
    """The most recent run of this process (running or ended)."""
    return _last_run


class Session:
    """Context manager behind ``%%monitor`` and :func:`nbmonitor.monitor`.

    Every keyword here is also a ``%%monitor`` option of the same name
    (``print_capture=False`` is ``--no-print-capture``; ``alerts=[...]`` is
    ``--alert RULE`` repeated; ``default_alerts=False`` is ``--no-default-alerts``).
    ``alerts`` takes rule strings or :class:`nbmonitor.alerts.Rule` objects (see
    :mod:`nbmonitor.alerts` for the grammar); a malformed one raises
    :class:`nbmonitor.alerts.AlertSyntaxError` here, before anything runs.
    """

    def __init__(self, name: str | None = None, *, print_capture: bool = True,
                 total_steps: int | None = None, epochs: int | None = None,
                 keep_live: bool = False, stop_on_nan: bool = False,
                 refresh_hz: float = 4.0, max_points: int = 2000,
                 hparams: dict[str, Any] | None = None, source: str = "",
                 namespace: dict[str, Any] | None = None,
                 frontend: str | None = None, sample_every: float = 1.0,
                 meters: "bool | Sequence[Any]" = True, store: Any = None,
                 compare_last: bool = False, alerts: "Sequence[Any] | None" = None,
                 default_alerts: bool = True, background: bool = False,
                 accumulation: str | None = None, watch: "bool | str | None" = None,
                 watch_every: int = 50) -> None:
        from .checks import option
        sample_every = option("sample_every", sample_every)
        refresh_hz = option("refresh_hz", refresh_hz)
        max_points = option("max_points", max_points, integer=True)
        total_steps = option("total_steps", total_steps, integer=True)
        epochs = option("epochs", epochs, integer=True)
        if accumulation not in (None, "sum", "mean"):
            raise ValueError(f"accumulation must be 'sum' or 'mean', not {accumulation!r}")
        if watch not in (None, True, False, "on", "off"):
            raise ValueError(f"watch must be on or off, not {watch!r}")
        if isinstance(watch_every, bool) or not isinstance(watch_every, int) or watch_every < 1:
            raise ValueError("watch_every must be at least 1 (a whole number of steps)")
        # Torch capture: how several losses of a step combine (None: detected), and
        # gradient statistics (None: global norm; on: per layer too; off: none).
        self.accumulation, self.watch, self.watch_every = accumulation, watch, watch_every
        self.name = name
        self.print_capture = print_capture
        self.total_steps = total_steps
        self.epochs = epochs
        self.keep_live = keep_live
        self.stop_on_nan = stop_on_nan
        self.refresh_hz = refresh_hz
        self.max_points = max_points
        self.hparams = dict(hparams or {})
        self.source = source
        self.namespace = namespace
        self.frontend = frontend or detect_frontend()
        self.sample_every = sample_every
        self.meters = meters  # True: default meters; False: none; or a list of meters
        self._sampler: Any = None
        self.store = store  # a path, False (off), None (default) or a SqliteStore
        self.compare_last = compare_last
        # The body runs in a worker thread (see background.py): only that thread's
        # steps and prints are the run's.
        self.background = background
        self.reference: dict[str, tuple] | None = None  # previous run's curves
        self._writer: Any = None
        self.run: Run | None = None
        self.view: Any = None
        self._handles: list[Any] = []
        self._display = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Rules parsed now, so a malformed one stops the cell before it runs.
        from .alerts import Rule, as_rule, default_rules
        if isinstance(alerts, (str, Rule)):  # one rule, not a sequence of characters
            alerts = [alerts]
        self.rules = default_rules(stop_on_nan) if default_alerts else []
        if stop_on_nan and not default_alerts:
            self.rules.append(as_rule("nan -> stop"))
        self.rules += [as_rule(r) for r in (alerts or ())]
        self.alerts: Any = None  # the AlertEngine, once the run is open

    # -- entering ----------------------------------------------------------
    def __enter__(self) -> Run:
        global _active
        with _active_lock:
            if _active is not None:
                other = _active.run.name if _active.run is not None else "?"
                hint = (" in the background: nbmonitor.wait() for it, or press its Stop"
                        if _active.background else "")
                raise RuntimeError(f"a monitored run ({other}) is already active in this "
                                   f"process{hint}; nbmonitor runs one at a time")
            _active = self
        try:
            epochs = self.epochs or estimate_epochs(self.source, self.namespace)
            self.run = run = Run(self.name, total_steps=self.total_steps,
                                 hparams=self.hparams, source=self.source)
            run.opened_by = threading.get_ident()  # whose log calls are stop points
            run.stop_on_nan = self.stop_on_nan
            if self.background:
                run.thread_ident = -1  # no thread's, until the worker says it is
            global _last_run
            _last_run = run
            self._start_store(run)
            self._start_alerts(run)
            self._install_hooks(run, epochs)
            self._start_sampler(run)
            self._open_view(run)
            self._thread = threading.Thread(target=self._refresh_main,
                                            name="nbmonitor-refresh", daemon=True)
            self._thread.start()
        except BaseException as e:
            self._teardown()
            if self.run is not None:
                self.run.finish("failed", f"{type(e).__name__}: {e}")
                self._close_store()
            raise
        return run

    def start(self, body: Any) -> Run:
        """Background mode: run ``body()`` in a worker thread under this session and
        return the run at once (``nbmonitor.monitor(background=True).start(train)``);
        :func:`nbmonitor.wait` joins it."""
        from . import background
        return background.start(self, body)

    def _start_store(self, run: Run) -> None:
        """Open the store and start its writer (before any hook can log)."""
        from .store import open_for_run
        store = open_for_run(self.store)  # StoreError (foreign file) propagates
        if store is None:
            return
        from .store.meta import environment, notebook_path, source_hash
        from .store.writer import StoreWriter
        row = {"notebook": notebook_path(self.namespace), "source": self.source,
               "source_hash": source_hash(self.source), "environment": environment()}
        if self.compare_last:
            try:
                from .store.history import previous_run, reference_curves
                prev = previous_run(store, run.id, row["source_hash"], self.name)
                if prev is not None:
                    self.reference = reference_curves(prev, self.max_points)
                    run.event("compare", f"reference: {prev.name} ({prev.id})", run=prev.id)
            except Exception as e:
                print(f"nbmonitor: --compare-last: {e}", file=sys.stderr)
        self._writer = StoreWriter(store, run, row)
        self._writer.start()

    def _close_store(self) -> None:
        """Final write of the run with its status; reports, never raises."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception as e:
                print(f"nbmonitor: closing the run store: {e}", file=sys.stderr)

    def _start_alerts(self, run: Run) -> None:
        from .alerts import AlertEngine, registered_handlers, registered_rules
        self.alerts = AlertEngine(run, [*self.rules, *registered_rules], registered_handlers)

    def _install_hooks(self, run: Run, epochs: int | None) -> None:
        ignores = []
        if any(m in sys.modules or m in self.source for m in ("keras", "tensorflow")):
            from .hooks import keras_hooks  # imports no Keras: patches once it is in
            handle = keras_hooks.install(
                run, watch_every=self.watch_every if self.watch in (True, "on") else None)
            self._handles.append(handle)
            ignores.append(handle.ignore_line)
        lightning = ("lightning" in self.source
                     or any(m in sys.modules for m in ("lightning", "pytorch_lightning")))
        if lightning:
            from .hooks import lightning_hooks  # imports no Lightning: patches once it is in
            handle = lightning_hooks.install(run)
            self._handles.append(handle)
            ignores.append(handle.ignore_line)
        # Hugging Face Trainer, XGBoost, LightGBM: each hook imports its framework only
        # once the cell does (see nbmonitor.hooks.hf_trainer, xgboost_hooks, lightgbm_hooks).
        for module, hook in FRAMEWORK_HOOKS:
            if module in sys.modules or module in self.source:
                handle = importlib.import_module(f".hooks.{hook}", __package__).install(run)
                self._handles.append(handle)
                ignores.append(handle.ignore_line)
        if "torch" in sys.modules or "torch" in self.source or lightning:
            try:
                from .hooks import torch_hooks
            except ImportError:
                pass
            else:
                handle = torch_hooks.install(
                    run, epochs_hint=epochs, namespace=self.namespace,
                    accumulation=self.accumulation, watch=self.watch,
                    watch_every=self.watch_every)
                run.device_sink = handle.state.device_queue.add
                self._handles.append(handle)
        if self.print_capture:
            from .hooks import printed
            ignore = (lambda line: any(f(line) for f in ignores)) if ignores else None
            self._handles.append(printed.install(run, ignore=ignore))

    def _start_sampler(self, run: Run) -> None:
        if self.meters is False:
            return
        from .meters import Sampler, default_meters
        meters = default_meters() if self.meters is True else list(self.meters)
        self._sampler = Sampler(run, meters, self.sample_every).start()

    def _open_view(self, run: Run) -> None:
        if self.frontend == "widgets":
            from IPython.display import display

            from .widgets.dashboard import Dashboard
            from .widgets.unsaved import run_detached
            # Closed at the freeze: built so that executors save none of its state.
            build = Dashboard if self.keep_live else partial(run_detached, Dashboard)
            self.view = build(run, self.max_points, reference=self.reference,
                              background=self.background)
            self._display = display(self.view.widget, display_id=True)
        else:
            from .progress import TextProgress
            self.view = TextProgress(run)

    # -- running -----------------------------------------------------------
    def _refresh_main(self) -> None:
        if self.keep_live or self.frontend != "widgets":
            self._refresh_loop()
        else:
            from .widgets.unsaved import run_detached
            run_detached(self._refresh_loop)

    def _refresh_loop(self) -> None:
        period = 1.0 / self.refresh_hz
        while not self._stop.wait(period):
            try:
                self.refresh()
            except BaseException as e:  # SystemExit from a view: keep refreshing
                if hasattr(self.view, "note"):
                    self.view.note = f"display error: {type(e).__name__}: {e}"

    def refresh(self) -> None:
        """Check the alert rules on new points, then refresh the view; errors
        become a note, never an exception."""
        run = self.run
        if run is None or self.view is None:
            return
        try:
            if self.alerts is not None:
                self.alerts.check()  # never raises: failing rules are disabled
            self.view.refresh(run.rate())
        except Exception as e:  # the view must never break training
            if hasattr(self.view, "note"):
                self.view.note = f"display error: {type(e).__name__}: {e}"

    # -- leaving -----------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> bool:
        message = f"closing run {self.run.name[:60]!r} first"
        try:
            with deferred_interrupts(message) as presses:
                suppress = self._close(exc_type, exc)
        except KeyboardInterrupt:
            # A second Ctrl-C that landed before the guard was up: nothing was closed
            # yet (inside the guard nothing raises it), so close now.
            with deferred_interrupts(message) as presses:
                suppress = self._close(exc_type, exc)
        if presses[0] and exc_type is None:
            raise KeyboardInterrupt  # the press held while closing, now that it is closed
        return suppress

    def _close(self, exc_type, exc) -> bool:
        """Everything :meth:`__exit__` does, under a held Ctrl-C: hooks removed,
        threads stopped, status stored, output frozen."""
        run = self.run
        suppress = False
        if exc_type is None:
            # "stopped" only when a hook ended the loop early (see nbmonitor.stops).
            status, error = stops.final_status(run), None
        elif issubclass(exc_type, StopRun):
            status, error, suppress = "stopped", None, True
        elif issubclass(exc_type, KeyboardInterrupt):
            status, error = "interrupted", "KeyboardInterrupt"
        else:
            status, error = "failed", f"{exc_type.__name__}: {exc}"
        self._teardown()
        self._final_check()
        run.finish(status, error)
        if error and hasattr(self.view, "note"):
            self.view.note = error
        self._close_store()
        self._freeze()
        return suppress

    def _final_check(self) -> None:
        """Alerts on the last points, recorded before the store's final write."""
        try:
            if self.alerts is not None:
                self.alerts.check(act=False)
        except Exception as e:  # pragma: no cover - check() reports its own errors
            print(f"nbmonitor: alerts: {e}", file=sys.stderr)

    def _teardown(self) -> None:
        """Remove hooks, stop the sampler and the refresher; report, never raise."""
        global _active
        problems = []
        for handle in reversed(self._handles):
            try:
                handle.remove()
            except Exception as e:
                problems.append(f"removing {type(handle).__name__}: {e}")
        self._handles = []
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        self._stop.set()
        try:
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
        finally:
            with _active_lock:
                if _active is self:
                    _active = None
        for p in problems:
            print(f"nbmonitor: {p}", file=sys.stderr)

    def _freeze(self) -> None:
        """Replace the live output by the static snapshot (or print the summary)."""
        run = self.run
        try:
            if self.frontend == "widgets" and not self.keep_live:
                from .widgets.unsaved import run_detached
                run_detached(self.refresh)
            else:
                self.refresh()
            if self.frontend != "widgets":
                from .summary import summary_text  # no matplotlib for text output
                self.view.close(summary_text(run))
                return
            from .snapshot import frozen
            from .widgets.unsaved import run_detached
            view = self.view
            view.finish() if self.keep_live else run_detached(view.finish)
            data, meta = frozen(run, view.smoothing.value, log=view.log_choices(),
                                reference=self.reference)
            if self.keep_live:
                data["application/vnd.jupyter.widget-view+json"] = {
                    "model_id": view.widget.model_id, "version_major": 2,
                    "version_minor": 0}
            # The snapshot replaces the dashboard in one update; the widgets are
            # closed after it, so nothing vanishes piece by piece before.
            if self.background:
                # Off the cell's context: the update goes out with the parent of the
                # cell running now, which every frontend is listening to.
                contextvars.Context().run(self._display.update, data, raw=True,
                                          metadata=meta)
            else:
                self._display.update(data, raw=True, metadata=meta)
            if not self.keep_live:
                run_detached(view.close)
        except Exception:
            print("nbmonitor: could not draw the final snapshot:\n"
                  + traceback.format_exc(limit=3), file=sys.stderr)
