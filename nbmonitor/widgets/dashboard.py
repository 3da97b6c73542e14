"""The live dashboard of one run: header, controls, meters and a chart per metric group.

A group gets its chart once one of its series changes value; until then its series
(a constant learning rate, a validation metric with one point) are values in the
header. Every control (smoothing, y scale, Pause, Stop, knobs) is routed so that it
acts while the cell trains (see :mod:`.routing`).
"""
from __future__ import annotations

import ipywidgets as W

from ..grouping import group_of, is_meter, is_model_series
from ..layout import grid_layout
from ..run import Run
from ..ticks import is_constant
from .banner import AlertBanner
from .chart import MetricChart
from .closing import close_tree
from .controls import ControlsPanel
from .header import render_header
from .meters import MetersPanel
from .model_panel import ModelPanel
from .routing import route_to_sender

Y_SCALES = [("auto y", "auto"), ("linear y", "linear"), ("log y", "log")]
_LOG = {"auto": None, "linear": False, "log": True}


class Dashboard:
    """Widgets for ``run``. Only the refresher thread calls :meth:`refresh`;
    button callbacks only set flags on the run."""

    def __init__(self, run: Run, max_points: int = 2000,
                 reference: dict[str, tuple] | None = None, background: bool = False) -> None:
        self.run = run
        self.reference = reference or {}  # series -> (steps, values) of a past run
        self.max_points = max_points
        self.charts: dict[str, MetricChart] = {}
        self.constants: dict[str, float] = {}  # series shown as a value in the header
        self._seen: dict[str, int] = {}
        self._rate = 0.0
        self.note = ""
        # Auto width: the column stretches it to its width less its margins (100 %
        # would put the margins past the right edge).
        self.header = W.HTML(render_header(run, 0.0), layout={"width": "auto"})
        self.smoothing = W.FloatSlider(value=0.6, min=0.0, max=0.99, step=0.01,
                                       description="smoothing", readout_format=".2f",
                                       continuous_update=False,
                                       layout={"width": "260px", "min_width": "200px"})
        self.log_scale = W.Dropdown(options=Y_SCALES, value="auto",
                                    layout={"width": "110px"})
        self.smoothing.add_class("nbm-smoothing")
        self.log_scale.add_class("nbm-yscale")
        self.panel = ControlsPanel(run, background)
        self.stop, self.pause = self.panel.stop, self.panel.pause
        self._marked = 0  # control events drawn as markers so far
        self.smoothing.observe(lambda _: self._redraw(), "value")
        self.log_scale.observe(self._on_log, "value")
        for w in (self.smoothing, self.log_scale):
            route_to_sender(w)
        row = W.Box([self.smoothing, self.log_scale, self.panel.buttons],
                    layout={"display": "flex", "flex_flow": "row wrap",
                            "align_items": "center"})
        self.controls = W.VBox([row, self.panel.knob_box, self.panel.note])
        self.meters = MetersPanel(run)
        self.banner = AlertBanner(run)
        self._marks: list = []  # alert events whose chart has no marker yet
        # As many columns as the snapshot draws (see nbmonitor.layout)
        self.grid = W.Box(layout=grid_layout())
        self.model = ModelPanel(run, max_points)
        self.widget = W.VBox([self.header, self.banner.widget, self.controls,
                              self.meters.widget, self.grid, self.model.widget])
        self.widget.add_class("nbm-dashboard")

    def _on_log(self, change) -> None:
        for chart in self.charts.values():
            chart.set_log(_LOG[change["new"]])
        self._redraw()

    def _redraw(self) -> None:
        self._seen.clear()

    def log_choices(self) -> dict[str, bool]:
        """Per chart group, whether its y axis is logarithmic now."""
        return {key: chart.log for key, chart in self.charts.items()}

    def refresh(self, rate: float) -> None:
        """Pull new points from the buffer into the charts and redraw the header."""
        run = self.run
        if not (run.paused and run.status == "running"):
            self._rate = rate  # a paused run keeps the rate it had
        self.meters.refresh()
        self.panel.refresh()
        smoothing = self.smoothing.value
        pending = {}
        for series in run.buffer:
            name = series.name
            if (is_meter(name) or is_model_series(name)
                    or self._seen.get(name) == series.version):
                continue
            key = group_of(name)
            view = series.view(self.max_points)
            if key not in self.charts and len(view) and (
                    len(view) < 2 or is_constant(view.values)):
                self.constants[name] = float(view.values[-1])
                self._seen[name] = series.version
                continue
            pending[name] = (key, view)
            self._seen[name] = series.version
        new = []
        for name, (key, view) in pending.items():
            chart = self.charts.get(key)
            if chart is None:
                chart = self.charts[key] = MetricChart(key)
                chart.set_log(_LOG[self.log_scale.value])
                new.append(chart.figure)
                for other in [n for n in self.constants if group_of(n) == key]:
                    del self.constants[other]  # drawn from now on
                    self._seen.pop(other, None)
            if name in self.reference and name not in chart.smooth:
                chart.set_reference(name, *self.reference[name])
            chart.update(name, view, smoothing)
        if new:
            # A chart enters the page complete (points, ranges, ticks). bqplot's axis
            # view listens to its scale before it has built its d3 axis, so a range
            # that changes while the view is being built raises "Cannot read
            # properties of undefined (reading 'scale')" in the browser.
            self.grid.children = [*self.grid.children, *new]
        self.header.value = render_header(run, self._rate, self.note, self.constants)
        self.model.refresh()
        self._mark_alerts()
        self._mark_controls()

    def _mark_alerts(self) -> None:
        """Banner the new alerts; put a marker on the chart of each alert's series
        (kept pending until that chart exists)."""
        self._marks += [e for e in self.banner.refresh() if e.kind == "alert"]
        left = []
        for e in self._marks:
            name = e.data.get("series", "")
            chart = self.charts.get(group_of(name)) if not is_meter(name) else None
            if chart is None:
                if name in self.run.buffer and not is_meter(name):
                    left.append(e)
                continue
            chart.mark_alert(name, e.step, float(e.data.get("value", float("nan"))))
        self._marks = left

    def _mark_controls(self) -> None:
        """Applied lr changes as markers on the lr chart, at (step, new lr)."""
        events = [e for e in self.run.events if e.kind == "control" and "knob" in e.data]
        if len(events) == self._marked or "lr" not in self.charts:
            return
        self._marked = len(events)
        lr = [e for e in events if e.data["knob"] == "lr"]
        self.charts["lr"].set_markers([e.step for e in lr], [e.data["new"] for e in lr])

    def finish(self) -> None:
        """The run ended: controls that can no longer act are disabled."""
        for w in (self.stop, self.pause, *self.panel.sliders.values()):
            w.disabled = True

    def close(self) -> None:
        """Close every widget so no widget state is left in the saved notebook."""
        for chart in self.charts.values():
            chart.close()
        self.model.close()
        close_tree(self.widget)
