"""One bqplot chart per metric group: a faint raw curve and a smoothed one per series."""
from __future__ import annotations


import bqplot as bq
import numpy as np

from ..buffer import View
from .closing import close_tree
from ..smoothing import ema, smoothable
from ..style import PALETTE



class MetricChart:
    """A figure for one metric group; :meth:`update` takes a series' view."""

    def __init__(self, title: str) -> None:
        self.x = bq.LinearScale()
        self.y_lin = bq.LinearScale()
        self.y_log = bq.LogScale()
        self.log = False
        self.ax_x = bq.Axis(scale=self.x, label="step", num_ticks=5)
        self.ax_y = bq.Axis(scale=self.y_lin, side="left", num_ticks=4,
                            tick_format=".3g")
        self._ranges: dict[str, tuple[float, float]] = {}
        self.raw: dict[str, bq.Lines] = {}
        self.smooth: dict[str, bq.Lines] = {}
        self.refs: dict[str, bq.Lines] = {}  # faint curves of a previous run
        self.alerts: bq.Scatter | None = None  # red triangles where alerts fired
        self.markers: bq.Scatter | None = None  # applied knob changes
        self.figure = bq.Figure(
            title=title, marks=[], axes=[self.ax_x, self.ax_y],
            legend_location="top-right", animation_duration=0,
            fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
            layout={"width": "380px", "height": "240px"},
        )
        self.figure.add_class("nbm-chart")

    def _y(self) -> bq.Scale:
        return self.y_log if self.log else self.y_lin

    def add_series(self, name: str) -> None:
        color = PALETTE[len(self.smooth) % len(PALETTE)]
        scales = {"x": self.x, "y": self._y()}
        raw = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=scales,
                       colors=[color], opacities=[0.25], stroke_width=1)
        smooth = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=scales,
                          colors=[color], stroke_width=2, labels=[name],
                          display_legend=True)
        self.raw[name] = raw
        self.smooth[name] = smooth
        self.figure.marks = [*self.figure.marks, raw, smooth]

    def set_reference(self, name: str, steps: np.ndarray, values: np.ndarray) -> None:
        """Draw a previous run's ``name`` faintly, dashed, behind the live curves."""
        if name not in self.smooth:
            self.add_series(name)
        color = self.smooth[name].colors[0]
        ref = bq.Lines(x=np.asarray(steps, np.float32), y=np.asarray(values, np.float32),
                       scales={"x": self.x, "y": self._y()}, colors=[color],
                       opacities=[0.35], stroke_width=1.5, line_style="dashed")
        self.refs[name] = ref
        self.figure.marks = [ref, *self.figure.marks]

    def set_markers(self, steps: list[float], values: list[float]) -> None:
        """Mark knob changes (step, new value) with triangles on this chart."""
        x, y = np.asarray(steps, np.float32), np.asarray(values, np.float32)
        if self.markers is None:
            self.markers = bq.Scatter(x=x, y=y, scales={"x": self.x, "y": self._y()},
                                      marker="triangle-down", colors=["#cf222e"],
                                      default_size=48, labels=["control"])
            self.figure.marks = [*self.figure.marks, self.markers]
        else:
            with self.markers.hold_sync():
                self.markers.x, self.markers.y = x, y

    def update(self, name: str, view: View, smoothing: float) -> None:
        """Write one series' points (float32) into its two marks."""
        if name not in self.smooth:
            self.add_series(name)
        x = view.steps.astype(np.float32)
        y = view.values
        if self.log:
            y = np.where(y > 0, y, np.nan)
        raw, smooth = self.raw[name], self.smooth[name]
        with raw.hold_sync(), smooth.hold_sync():
            if smoothing > 0 and smoothable(name, len(x)):
                raw.x, raw.y, raw.visible = x, y.astype(np.float32), True
                smooth.x, smooth.y = x, ema(y, smoothing).astype(np.float32)
            else:
                raw.visible = False
                smooth.x, smooth.y = x, y.astype(np.float32)
        self._fit_flat(name, y)

    def _fit_flat(self, name: str, y: np.ndarray) -> None:
        """Give a flat chart (a constant lr) a visible range: bqplot draws a zero-height
        domain with a single tick."""
        finite = y[np.isfinite(y)]
        if len(finite):
            self._ranges[name] = (float(finite.min()), float(finite.max()))
        if not self._ranges:
            return
        lo = min(r[0] for r in self._ranges.values())
        hi = max(r[1] for r in self._ranges.values())
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            pad = abs(hi) * 0.1 or 1.0
            if self.y_lin.min != lo - pad:
                self.y_lin.min, self.y_lin.max = lo - pad, hi + pad
        elif self.y_lin.min is not None:
            self.y_lin.min = self.y_lin.max = None

    def mark_alert(self, name: str, step: float, value: float) -> None:
        """A red marker at ``(step, value)`` of series ``name``; a non-finite value
        is marked at the last finite value drawn for that series up to ``step``."""
        if not np.isfinite(value) or (self.log and value <= 0):
            line = self.smooth.get(name)
            xs = np.asarray(line.x if line is not None else [], float)
            ys = np.asarray(line.y if line is not None else [], float)
            ys = ys[np.isfinite(ys) & (xs <= step) & ((ys > 0) if self.log else True)]
            if not len(ys):
                return
            value = float(ys[-1])
        if self.alerts is None:
            self.alerts = bq.Scatter(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                                     scales={"x": self.x, "y": self._y()}, marker="triangle-down",
                                     colors=["#cf222e"], default_size=60, tooltip=None)
            self.figure.marks = [*self.figure.marks, self.alerts]
        with self.alerts.hold_sync():
            self.alerts.x = np.append(self.alerts.x, step).astype(np.float32)
            self.alerts.y = np.append(self.alerts.y, value).astype(np.float32)

    def set_log(self, log: bool) -> None:
        """Switch the y axis between linear and log scale."""
        if log == self.log:
            return
        self.log = log
        y = self._y()
        marks = [*self.raw.values(), *self.smooth.values(), *self.refs.values()]
        extra = [m for m in (self.alerts, self.markers) if m is not None]
        for mark in marks + extra:
            mark.scales = {"x": self.x, "y": y}
        self.ax_y.scale = y

    def close(self) -> None:
        """Close every widget of this chart."""
        for w in [self.figure, *self.raw.values(), *self.smooth.values(),
                  *self.refs.values(), *([self.alerts] if self.alerts else []),
                  *([self.markers] if self.markers else []), self.y_lin,
                  self.y_log]:
            close_tree(w)
