"""The tuner widget: a control per hyperparameter, Run, a Sweep panel, the live
dashboard of the trial training now, all trials' curves, parallel coordinates, a
sortable results table and Apply best.

Buttons only start work on a background thread (the kernel stays usable and the
Stop button live, see DESIGN.md "Threads and the busy kernel"); the tuner's events
redraw the charts and the table. When a run or sweep ends the displayed output is
replaced by the static snapshot and every widget is closed (``keep_live`` keeps the
widget beside the snapshot), so a saved notebook shows the snapshot after a kernel
restart and carries no widget state; display the tuner again to go on.
While displayed on a shared storage, a thread polls the study every ``POLL_S``
seconds and redraws when other processes (``python -m nbmonitor.worker``) added,
ended or reported trials: their curves are the objective values they reported.
"""
from __future__ import annotations

import threading
from typing import Any

import ipywidgets as W

from ..widgets.closing import close_tree
from ..widgets.dashboard import Dashboard
from ..widgets.unsaved import run_detached
from .charts import CurvesChart, ParallelChart
from .controls import control, error_line, on_grid, status_line
from .results import best_number, fingerprint
from .snapshot import bundle
from .table import ResultsTable

POLL_S = 2.0


class TunerWidget:
    """Widgets of a :class:`~nbmonitor.tuning.tuner.Tuner`."""

    def __init__(self, tuner: Any) -> None:
        self.tuner = tuner
        self.controls = {n: control(p, tuner.values[n]) for n, p in tuner.space.items()}
        for name, w in self.controls.items():
            if not (isinstance(w, W.Text) and w.disabled):
                w.observe(lambda ch, n=name: self._on_control(n, ch["new"]), "value")
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.apply_button = W.Button(description="Apply best", icon="star")
        self.method = W.Dropdown(options=["tpe", "random", "grid"], value="tpe",
                                 description="method", layout={"width": "180px"})
        self.n_trials = W.BoundedIntText(value=12, min=1, max=10_000, description="trials",
                                         layout={"width": "160px"})
        self.pruning = W.Checkbox(value=True, description="pruning", indent=False,
                                  layout={"width": "auto"})
        self.sweep_button = W.Button(description="Sweep", button_style="success", icon="search")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop")
        self.status = W.HTML("")
        # The dashboard of the trial training now, as wide as the tuner.
        self.live = W.Box(layout={"flex_flow": "column", "width": "100%"})
        self.curves = CurvesChart(tuner.objective)
        self.parallel = ParallelChart(tuner.direction)
        self.table = ResultsTable(tuner.objective, ascending=tuner.direction == "minimize")
        self.run_button.on_click(lambda _: self._start(self.tuner.run))
        self.sweep_button.on_click(lambda _: self._start(
            self.tuner.sweep, method=self.method.value, n_trials=self.n_trials.value,
            pruning=self.pruning.value))
        self.stop_button.on_click(lambda _: self.tuner.stop())
        self.apply_button.on_click(lambda _: self.apply_best())
        # Rows wrap, and the sliders' column keeps at least 300 px, so narrow outputs
        # stack the sweep settings under the sliders instead of squeezing one over the
        # other; wide ones give the sliders up to 440 px.
        wrap = {"flex_flow": "row wrap"}
        # The charts join the page with their first curve, complete: bqplot's axis view
        # breaks on a range change that lands while it is being built (see
        # :meth:`_show_charts`).
        self.charts = W.HBox([], layout=wrap)
        sweep = W.HBox([self.method, self.n_trials, self.pruning, self.sweep_button,
                        self.stop_button], layout=wrap)
        sliders = W.VBox(list(self.controls.values()),
                         layout={"flex": "1 1 340px", "max_width": "444px",
                                 "min_width": "min(100%, 300px)"})
        self.widget = W.VBox([
            W.HBox([sliders,
                    W.VBox([W.HBox([self.run_button, self.apply_button], layout=wrap),
                            sweep, self.status],
                           layout={"flex": "1 1 300px", "min_width": "0"})], layout=wrap),
            self.live, self.charts,
            self.table.widget])
        self.widget.add_class("nbm-tuner")
        self.run_button.add_class("nbm-tuner-run")  # hooks for the browser tests
        self.curves.figure.add_class("nbm-tuner-curves")
        self.parallel.figure.add_class("nbm-tuner-parallel")
        self._display: Any = None
        self._df: Any = None
        self._lock = threading.Lock()
        self._running: int | None = None  # the trial this process trains now
        self._seen: tuple | None = None  # the study's fingerprint at the last poll
        self._poller: threading.Thread | None = None
        self._closed = threading.Event()
        tuner.subscribe(self._on_event)
        self.refresh()

    # -- actions ---------------------------------------------------------------
    def _start(self, action: Any, **kwargs: Any) -> None:
        """Run ``action`` on a background thread so the kernel and Stop stay live."""
        def work() -> None:
            try:
                action(**kwargs)
            except Exception as e:
                self.status.value = error_line(e)
        threading.Thread(target=work, name="nbmonitor-tuner", daemon=True).start()

    def apply_best(self) -> None:
        """Set every control to the best trial's value."""
        try:
            self.tuner.apply_best()
        except ValueError as e:
            self.status.value = error_line(e)

    def _on_control(self, name: str, value: Any) -> None:
        if not on_grid(self.controls[name], self.tuner.values.get(name), value):
            self.tuner.values[name] = value

    def set_controls(self, values: dict[str, Any]) -> None:
        """Move the controls to ``values`` (unknown or out-of-range values skipped)."""
        for name, value in values.items():
            w = self.controls.get(name)
            if w is not None and not (isinstance(w, W.Text) and w.disabled):
                try:
                    w.value = value
                except Exception:
                    pass

    # -- tuner events ------------------------------------------------------------
    # Widget traffic goes with no parent message (see ..widgets.unsaved): executors
    # keep none of the tuner's state; only the frozen output, sent with the cell's
    # parent, stays in the notebook.
    def trial_view(self, run: Any, max_points: int) -> Dashboard:
        """The live dashboard of a trial, placed inside the tuner."""
        return run_detached(self._trial_view, run, max_points)

    def _trial_view(self, run: Any, max_points: int) -> Dashboard:
        dash = Dashboard(run, max_points)
        self.live.children = [dash.widget]
        return dash

    def trial_refresh(self, run: Any) -> None:
        """Called by the trial's refresher: its objective curve, live."""
        run_detached(self._trial_refresh, run)

    def _trial_refresh(self, run: Any) -> None:
        name = self.tuner.objective
        if name in run.buffer:
            steps, values, _ = run.buffer.series(name).arrays()
            number = run.hparams.get("trial", -1)
            self.curves.set_curve(number, steps, values, "running", False)
            self._show_charts()

    def _on_event(self, event: str, data: Any) -> None:
        if event == "end":
            self.freeze()  # the output's update goes with the cell's parent
        else:
            run_detached(self._update, event, data)

    def _update(self, event: str, data: Any) -> None:
        if event == "values":
            self.set_controls(self.tuner.values)
        elif event == "trial_start":
            self._running = data
            self.status.value = status_line(len(self._df) if self._df is not None else 0,
                                            {}, data)
        elif event == "trial_end":
            self._running = None
            self.live.children = []
            self.refresh()

    def refresh(self) -> None:
        """Redraw the curves, the parallel coordinates and the table."""
        with self._lock:
            tuner = self.tuner
            df = tuner.results
            best = best_number(tuner.study)
            states = dict(zip(df["trial"], df["status"])) if len(df) else {}
            for number, (steps, values) in tuner.objective_curves().items():
                if number == self._running:
                    continue  # drawn live by trial_refresh from its own series
                self.curves.set_curve(number, steps, values, states.get(number, ""),
                                      number == best)
            self.parallel.update(df, tuner.space, tuner.objective, best, tuner.direction)
            self._df = df
            self.table.update(df, best)
            counts = df["status"].value_counts().to_dict() if len(df) else {}
            self.status.value = status_line(len(df), counts, self._running)
        self._show_charts()

    def _show_charts(self) -> None:
        """Put the charts in the page once the curves chart has a line, so their first
        view is built from ranges already set, not while the ranges of the first
        reports stream in (which raised "Cannot read properties of undefined (reading
        'scale')" in the browser)."""
        with self._lock:
            if not self.charts.children and self.curves.lines:
                self.charts.children = [self.curves.figure, self.parallel.figure]

    def poll(self) -> bool:
        """Redraw if the study changed since the last poll (trials added, ended or
        reported by any process); True when it did."""
        seen = fingerprint(self.tuner.study, skip=self._running)
        if seen == self._seen:
            return False
        self._seen = seen
        run_detached(self.refresh)
        return True

    def _poll_loop(self) -> None:
        while not self._closed.wait(POLL_S):
            try:
                self.poll()
            except Exception:  # a busy or unreachable database: try again later
                pass

    def start_polling(self) -> None:
        """Poll the study on a background thread until :meth:`close` (only for a
        storage other processes can share)."""
        if self._poller is None and self.tuner.storage_url is not None:
            self._poller = threading.Thread(target=self._poll_loop, daemon=True,
                                            name="nbmonitor-tuner-poll")
            self._poller.start()

    # -- display -------------------------------------------------------------------
    def show(self) -> None:
        """Display the widget (with a handle to add the snapshot later)."""
        from IPython.display import display
        self._display = display(self.widget, display_id=True)
        self.start_polling()

    def freeze(self) -> None:
        """Replace the displayed output by the static snapshot and close every
        widget (with the tuner's ``keep_live``: the snapshot beside the widget)."""
        if self._display is None:
            return
        run_detached(self.refresh)  # the last trial's end, for keep_live
        data = bundle(self.tuner)
        if getattr(self.tuner, "keep_live", False):
            data["application/vnd.jupyter.widget-view+json"] = {
                "model_id": self.widget.model_id, "version_major": 2, "version_minor": 0}
            self._display.update(data, raw=True)
            return
        try:
            self._display.update(data, raw=True)
        finally:
            self._display = None
            self.tuner.detach(self)
            self.close()

    def close(self) -> None:
        """Stop polling and close every widget of the tuner."""
        self._closed.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None
        self.curves.close()
        self.parallel.close()
        self.table.close()
        close_tree(self.widget)
