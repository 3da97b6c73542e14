"""The live dashboard of one run: header, controls, meters and a chart per metric group."""
from __future__ import annotations

import ipywidgets as W

from ..grouping import group_of, is_meter, is_model_series
from ..run import Run
from .banner import AlertBanner
from .chart import MetricChart
from .closing import close_tree
from .controls import ControlsPanel
from .header import render_header
from .meters import MetersPanel
from .model_panel import ModelPanel


class Dashboard:
    """Widgets for ``run``. Only the refresher thread calls :meth:`refresh`;
    button callbacks only set flags on the run."""

    def __init__(self, run: Run, max_points: int = 2000,
                 reference: dict[str, tuple] | None = None, background: bool = False) -> None:
        self.run = run
        self.reference = reference or {}  # series -> (steps, values) of a past run
        self.max_points = max_points
        self.charts: dict[str, MetricChart] = {}
        self._seen: dict[str, int] = {}
        self.note = ""
        self.header = W.HTML(render_header(run, 0.0))
        self.smoothing = W.FloatSlider(value=0.6, min=0.0, max=0.99, step=0.01,
                                       description="smoothing", readout_format=".2f",
                                       continuous_update=False,
                                       layout={"width": "260px"})
        self.log_scale = W.ToggleButton(value=False, description="log y", icon="",
                                        layout={"width": "80px"})
        self.panel = ControlsPanel(run, background)
        self.stop, self.pause = self.panel.stop, self.panel.pause
        self._marked = 0  # control events drawn as markers so far
        self.smoothing.observe(lambda _: self._redraw(), "value")
        self.log_scale.observe(self._on_log, "value")
        self.controls = W.VBox([
            W.HBox([self.smoothing, self.log_scale, self.panel.buttons]),
            self.panel.knob_box, self.panel.note])
        self.meters = MetersPanel(run)
        self.banner = AlertBanner(run)
        self._marks: list = []  # alert events whose chart has no marker yet
        self.grid = W.Box(layout={"display": "flex", "flex_flow": "row wrap"})
        self.model = ModelPanel(run, max_points)
        self.widget = W.VBox([self.header, self.banner.widget, self.controls,
                              self.meters.widget, self.grid, self.model.widget])
        self.widget.add_class("nbm-dashboard")

    def _on_log(self, change) -> None:
        for chart in self.charts.values():
            chart.set_log(change["new"])
        self._redraw()

    def _redraw(self) -> None:
        self._seen.clear()

    def refresh(self, rate: float) -> None:
        """Pull new points from the buffer into the charts and redraw the header."""
        run = self.run
        self.header.value = render_header(run, rate, self.note)
        self.meters.refresh()
        self.panel.refresh()
        smoothing = self.smoothing.value
        for series in run.buffer:
            name = series.name
            if (is_meter(name) or is_model_series(name)
                    or self._seen.get(name) == series.version):
                continue
            self._seen[name] = series.version
            key = group_of(name)
            chart = self.charts.get(key)
            if chart is None:
                chart = self.charts[key] = MetricChart(key)
                chart.set_log(self.log_scale.value)
                self.grid.children = [*self.grid.children, chart.figure]
            if name in self.reference and name not in chart.smooth:
                chart.set_reference(name, *self.reference[name])
            chart.update(name, series.view(self.max_points), smoothing)
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

    def close(self) -> None:
        """Close every widget so no widget state is left in the saved notebook."""
        for chart in self.charts.values():
            chart.close()
        self.model.close()
        close_tree(self.widget)
