"""One bqplot chart per metric group: a faint raw curve and a smoothed one per series.

The chart sets its own domains and round tick values (:mod:`nbmonitor.ticks`), so a
first draw with one point or a constant has a width and ticks, and the numbers are
the snapshot's. Text colours come from bqplot's theme variables (JupyterLab's).
"""
from __future__ import annotations

import bqplot as bq
import numpy as np

from ..buffer import View
from ..layout import CHART_HEIGHT_PX
from ..smoothing import ema, smoothable
from ..style import PALETTE, metric_color  # noqa: F401  (PALETTE: compare imports it here)
from ..ticks import linear_ticks, log_ticks, padded, tick_format, wants_log
from .closing import close_tree

# A cell of the chart grid (nbmonitor.layout) decides the width; "flex" fills a
# flex box (the model panel's slots).
CHART_LAYOUT = {"flex": "1 1 auto", "min_width": "0px", "height": f"{CHART_HEIGHT_PX}px",
                "width": "auto"}
TEXT = "var(--jp-ui-font-color1, #1f2328)"  # inline SVG styles resolve CSS variables
LEGEND_TEXT = {"font-size": "10px", "fill": TEXT}
TITLE = {"font-size": "13px", "fill": TEXT}
LEGEND_BOX = {"fill-opacity": 0.0, "stroke-width": 0}


class MetricChart:
    """A figure for one metric group; :meth:`update` takes a series' view."""

    def __init__(self, title: str) -> None:
        self.x = bq.LinearScale()
        self.y_lin = bq.LinearScale()
        self.y_log = bq.LogScale()
        self.log = False
        self.log_choice: bool | None = None  # None: automatic (wants_log of the data)
        self.ax_x = bq.Axis(scale=self.x, label="step", tick_format="~s")
        self.ax_y = bq.Axis(scale=self.y_lin, side="left", tick_format=".3g")
        self._ranges: dict[str, tuple[float, float]] = {}
        self._xrange: dict[str, tuple[float, float]] = {}
        self._data: dict[str, np.ndarray] = {}
        self.raw: dict[str, bq.Lines] = {}
        self.smooth: dict[str, bq.Lines] = {}
        self.refs: dict[str, bq.Lines] = {}  # faint curves of a previous run
        self.alerts: bq.Scatter | None = None  # red triangles where alerts fired
        self.markers: bq.Scatter | None = None  # applied knob changes
        self.figure = bq.Figure(
            title=title, marks=[], axes=[self.ax_x, self.ax_y],
            legend_location="top-right", animation_duration=0,
            legend_text=LEGEND_TEXT, legend_style=LEGEND_BOX, title_style=TITLE,
            fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
            layout=dict(CHART_LAYOUT),
        )
        self.figure.add_class("nbm-chart")

    def _y(self) -> bq.Scale:
        return self.y_log if self.log else self.y_lin

    def add_series(self, name: str) -> None:
        color = metric_color(name, [m.colors[0] for m in self.smooth.values()])
        scales = {"x": self.x, "y": self._y()}
        raw = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=scales,
                       colors=[color], opacities=[0.25], stroke_width=1)
        smooth = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=scales,
                          colors=[color], stroke_width=2, labels=[name],
                          display_legend=True, marker="circle", marker_size=16)
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
        self._note_range("ref:" + name, np.asarray(steps, float), np.asarray(values, float))
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
        y = np.asarray(view.values, float)
        self._note_range(name, view.steps, y)
        self._choose_scale()
        if self.log:
            y = np.where(y > 0, y, np.nan)
        raw, smooth = self.raw[name], self.smooth[name]
        with raw.hold_sync(), smooth.hold_sync():
            # Dots only while a series has too few points to show as a line.
            smooth.marker = "circle" if len(x) < 3 else None
            if smoothing > 0 and smoothable(name, len(x)):
                raw.x, raw.y, raw.visible = x, y.astype(np.float32), True
                smooth.x, smooth.y = x, ema(y, smoothing).astype(np.float32)
            else:
                raw.visible = False
                smooth.x, smooth.y = x, y.astype(np.float32)
        self._fit()

    def _note_range(self, name: str, steps: np.ndarray, y: np.ndarray) -> None:
        finite = np.isfinite(y)
        if finite.any():
            self._data[name] = y[finite]
            self._ranges[name] = (float(y[finite].min()), float(y[finite].max()))
        if len(steps):
            self._xrange[name] = (float(np.min(steps)), float(np.max(steps)))

    def _choose_scale(self) -> None:
        log = self.log_choice
        if log is None:
            data = [v for v in self._data.values()]
            log = bool(data) and wants_log(np.concatenate(data))
        if log != self.log:
            self._switch(log)

    def _fit(self) -> None:
        """Domains with a width and round ticks, on both axes (bqplot's own ticks
        break on a zero-width domain: one point, a constant)."""
        if self._xrange:
            lo = min(r[0] for r in self._xrange.values())
            hi = max(r[1] for r in self._xrange.values())
            x0, x1 = (lo, hi) if hi > lo else (lo - 1, hi + 1)
            ticks = linear_ticks(x0, x1, 5)
            _set(self.x, x0, x1)
            _set_ticks(self.ax_x, ticks, tick_format(ticks) if hi - lo < 5 else "~s")
        if not self._ranges:
            return
        ranges = list(self._ranges.values())
        lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
        if self.log:
            pos = [v[v > 0] for v in self._data.values()]
            pos = np.concatenate(pos) if pos else np.zeros(0)
            if not len(pos):
                return
            y0, y1 = padded(float(pos.min()), float(pos.max()), log=True)
            ticks = log_ticks(y0, y1)
            _set(self.y_log, y0, y1)
            _set_ticks(self.ax_y, ticks, tick_format(ticks, log=True))
        else:
            y0, y1 = padded(lo, hi)
            ticks = linear_ticks(y0, y1, 4)
            _set(self.y_lin, y0, y1)
            _set_ticks(self.ax_y, ticks, tick_format(ticks))

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

    def set_log(self, log: bool | None) -> None:
        """Choose the y scale: True log, False linear, None automatic (log when the
        positive data spans more than three decades, as the snapshot does)."""
        self.log_choice = log
        self._choose_scale()
        self._fit()

    def _switch(self, log: bool) -> None:
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


def _set(scale: bq.Scale, lo: float, hi: float) -> None:
    if (scale.min, scale.max) != (lo, hi):
        with scale.hold_sync():
            scale.min, scale.max = float(lo), float(hi)


def _set_ticks(axis: bq.Axis, ticks: list[float], fmt: str) -> None:
    values = np.asarray(ticks, float)
    old = axis.tick_values
    if old is None or len(old) != len(values) or not np.allclose(old, values):
        # The format goes first, in its own message: bqplot applies a format
        # that arrives with new tick values only at the next redraw.
        axis.tick_format = fmt
        axis.tick_values = values
