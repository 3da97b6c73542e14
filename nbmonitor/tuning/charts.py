"""bqplot charts of a tuner: every trial's objective curve on one chart (best
highlighted, pruned trials with a single point still shown), and parallel
coordinates in the manner of Optuna's dashboard: an axis per hyperparameter with
its ticks and range (log, linear or categories), lines coloured by the objective
with a colour bar, the best trial drawn on top.

Scales always get explicit, non-degenerate ranges and every axis an explicit tick
format: a scale left to guess from one point has no ticks and an invalid format."""
from __future__ import annotations

from typing import Any

import bqplot as bq
import numpy as np

from ..style import PALETTE
from ..widgets.closing import close_tree
from .parallel import nice_ticks, parallel

GREY, PRUNED, FAILED = "#8c8c8c", "#d98c00", "#cf222e"
TEXT = "var(--jp-ui-font-color1, #1f2328)"  # SVG text follows JupyterLab's theme
MUTED = "var(--jp-ui-font-color2, #57606a)"
RULE = "var(--jp-border-color1, #bdbdbd)"
TITLE = {"font-size": "13px"}
X_LABEL = "epoch (objective report)"


def _figure(title: str, axes: list[bq.Axis], width: str, margin: dict) -> bq.Figure:
    return bq.Figure(title=title, marks=[], axes=axes, animation_duration=0,
                     fig_margin=margin, title_style=TITLE, display_toolbar=False,
                     layout={"width": width, "height": "300px", "min_width": "300px",
                             "flex": "1 1 " + width})


def value_range(values: list[np.ndarray]) -> tuple[float, float]:
    """A y range holding every finite value, 5 % padding, never below 0 when all
    values are >= 0, never empty."""
    finite = [v[np.isfinite(v)] for v in values if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite:
        return 0.0, 1.0
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
    else:
        pad = (hi - lo) * 0.05
    low = lo - pad
    if lo >= 0 and low < 0:
        low = 0.0
    return low, hi + pad


class CurvesChart:
    """One line per trial on the report axis; the best trial thick and coloured,
    pruned ones orange, failed ones red; few-point lines get markers."""

    def __init__(self, objective: str) -> None:
        self.x = bq.LinearScale(min=0.0, max=2.0)
        self.y = bq.LinearScale(min=0.0, max=1.0)
        self.ax_x = bq.Axis(scale=self.x, label=X_LABEL, tick_format=".0f",
                            tick_values=np.arange(1, 3, dtype=float))
        self.ax_y = bq.Axis(scale=self.y, side="left", tick_format=".3g",
                            grid_lines="dashed", tick_values=np.array([0.0, 0.5, 1.0]))
        axes = [self.ax_x, self.ax_y]
        self.lines: dict[int, bq.Lines] = {}
        self.data: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.figure = _figure(f"{objective} per trial", axes, "340px",
                              {"top": 35, "bottom": 45, "left": 60, "right": 15})

    def set_curve(self, number: int, steps: Any, values: Any, status: str,
                  best: bool) -> None:
        """Create or update trial ``number``'s line (x: the report index from 1)."""
        y = np.asarray(values, np.float64)
        x = np.arange(1, len(y) + 1, dtype=np.float64)
        self.data[number] = (x, y)
        line = self.lines.get(number)
        if line is None:
            line = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                            scales={"x": self.x, "y": self.y}, labels=[f"#{number}"],
                            marker_size=24)
            self.lines[number] = line
        color = (PALETTE[0] if best else PRUNED if status == "pruned" else
                 FAILED if status == "failed" else PALETTE[1] if status == "running"
                 else GREY)
        with line.hold_sync():
            line.x = x.astype(np.float32)
            line.y = y.astype(np.float32)
            line.colors = [color]
            line.stroke_width = 3 if best else 1.5
            line.opacities = [1.0 if best or status == "running" else 0.7]
            line.marker = "circle" if len(y) < 3 else None
        self._rescale()
        # The best trial (and the running one) drawn last: on top of the others.
        order = sorted(self.lines, key=lambda n: (self.lines[n].stroke_width,
                                                   self.lines[n].opacities[0], n))
        marks = [self.lines[n] for n in order]
        if marks != list(self.figure.marks):
            self.figure.marks = marks

    def _rescale(self) -> None:
        lo, hi = value_range([y for _, y in self.data.values()])
        n = max((len(x) for x, _ in self.data.values()), default=1)
        n = max(2, n)
        step = max(1, int(np.ceil(n / 8)))  # at most ~8 integer ticks
        with self.x.hold_sync(), self.y.hold_sync():
            self.x.min, self.x.max = 1.0, float(n)
            self.y.min, self.y.max = lo, hi
        for axis, ticks in ((self.ax_x, np.arange(1, n + 1, step, dtype=float)),
                            (self.ax_y, np.array(nice_ticks(lo, hi, 5), float))):
            if len(ticks) != len(axis.tick_values) or (ticks != axis.tick_values).any():
                axis.tick_values = ticks

    def close(self) -> None:
        """Close every widget of the chart."""
        for w in [self.figure, *self.lines.values(), self.x, self.y, self.ax_x, self.ax_y]:
            close_tree(w)


class ParallelChart:
    """Parallel coordinates: x is the axis index, y each axis's value in [0, 1]."""

    def __init__(self, direction: str = "minimize") -> None:
        self.x = bq.LinearScale(min=-0.35, max=1.35)
        self.y = bq.LinearScale(min=-0.16, max=1.13)
        self.color = bq.ColorScale(scheme="viridis", reverse=direction == "minimize")
        self.color_axis = bq.ColorAxis(scale=self.color, side="right",
                                       tick_format=".3g",
                                       num_ticks=5)
        scales = {"x": self.x, "y": self.y}
        self.rules = bq.Lines(x=np.zeros((0, 2)), y=np.zeros((0, 2)), scales=scales,
                              colors=[RULE], stroke_width=1.5)
        self.lines = bq.Lines(x=np.zeros(0), y=np.zeros((0, 0)), color=np.zeros(0),
                              scales={**scales, "color": self.color}, stroke_width=1.5,
                              opacities=[0.75])
        self.best = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales=scales,
                             colors=[PALETTE[3]], stroke_width=3.5)
        self.ticks = bq.Label(x=[], y=[], text=[], scales=scales, align="end",
                              default_size=11, colors=[MUTED], x_offset=-4, y_offset=4)
        self.names = bq.Label(x=[], y=[], text=[], scales=scales, align="middle",
                              default_size=12, font_weight="bold", colors=[TEXT])
        self.ranges = bq.Label(x=[], y=[], text=[], scales=scales, align="middle",
                               default_size=10, colors=[MUTED])
        self.figure = _figure("parallel coordinates", [self.color_axis], "460px",
                              {"top": 35, "bottom": 10, "left": 30, "right": 105})
        self.figure.marks = [self.rules, self.lines, self.best, self.ticks, self.names,
                             self.ranges]

    def update(self, df: Any, space: dict, objective: str, best: int | None = None,
               direction: str = "minimize") -> None:
        """Redraw from a results frame."""
        pc = parallel(df, space, objective)
        n = len(pc.axes)
        xs, ys, texts = [], [], []
        for j, spec in enumerate(pc.specs):
            pos, labels = spec.ticks()
            xs += [j] * len(pos)
            ys += pos
            texts += labels
        ranges = []
        for spec in pc.specs:
            if spec.kind == "category":
                ranges.append(f"{len(spec.categories)} values")
            else:
                ranges.append(f"{spec.low:.3g}..{spec.high:.3g}"
                              + (" log" if spec.kind == "log" else ""))
        order = np.argsort(pc.objective)  # better lines drawn over worse ones
        if direction == "minimize":
            order = order[::-1]
        y = np.nan_to_num(pc.y, nan=-0.08)[order] if len(pc.y) else np.zeros((0, n))
        obj = pc.objective[order] if len(pc.y) else np.zeros(0)
        lo, hi = value_range([obj])
        with self.lines.hold_sync(), self.best.hold_sync(), self.rules.hold_sync(), \
                self.ticks.hold_sync(), self.names.hold_sync(), self.ranges.hold_sync():
            self.x.min, self.x.max = -0.35, n - 1 + 0.35 if n > 1 else 1.35
            self.color.min, self.color.max = lo, hi
            # Round ticks: bqplot's own spread prints float noise (4.44e-16 for 0).
            self.color_axis.tick_values = np.array(nice_ticks(lo, hi, 5), float)
            self.rules.x = np.array([[j, j] for j in range(n)], float)
            self.rules.y = np.array([[0.0, 1.0]] * n, float)
            self.lines.x = np.arange(n, dtype=float)
            self.lines.y = y
            self.lines.color = obj
            if best in pc.trials:
                i = pc.trials.index(best)
                self.best.x = np.arange(n, dtype=float)
                self.best.y = np.nan_to_num(pc.y[i], nan=-0.08)
            else:
                self.best.x, self.best.y = np.zeros(0), np.zeros(0)
            self.ticks.x, self.ticks.y, self.ticks.text = xs, ys, texts
            self.names.x, self.names.y = list(range(n)), [1.07] * n
            self.names.text = pc.axes
            self.ranges.x, self.ranges.y = list(range(n)), [-0.12] * n
            self.ranges.text = ranges
        # The colour bar's own label is drawn black whatever the theme: the title
        # names the colour instead, short enough for a 300 px chart.
        self.figure.title = (f"colour: {objective}"
                             + (f", best #{best} red" if best in pc.trials else ""))

    def close(self) -> None:
        """Close every widget of the chart."""
        for w in [self.figure, self.lines, self.best, self.rules, self.ticks, self.names,
                  self.ranges, self.x, self.y, self.color, self.color_axis]:
            close_tree(w)


