"""bqplot charts of a tuner: every trial's objective curve on one chart (best
highlighted), and parallel coordinates of hyperparameters against the objective."""
from __future__ import annotations

from typing import Any

import bqplot as bq
import numpy as np

from ..style import PALETTE
from ..widgets.closing import close_tree
from .parallel import parallel

GREY, PRUNED = "#999999", "#d62728"


def _figure(title: str, axes: list[bq.Axis], width: str) -> bq.Figure:
    return bq.Figure(title=title, marks=[], axes=axes, animation_duration=0,
                     fig_margin={"top": 30, "bottom": 40, "left": 55, "right": 10},
                     layout={"width": width, "height": "260px"})


class CurvesChart:
    """One line per trial; the best trial thick and coloured, pruned ones red."""

    def __init__(self, objective: str) -> None:
        self.x, self.y = bq.LinearScale(), bq.LinearScale()
        axes = [bq.Axis(scale=self.x, label="step", num_ticks=5),
                bq.Axis(scale=self.y, side="left", num_ticks=4, tick_format=".3g")]
        self.lines: dict[int, bq.Lines] = {}
        self.figure = _figure(f"{objective} per trial", axes, "420px")

    def set_curve(self, number: int, steps: Any, values: Any, status: str,
                  best: bool) -> None:
        """Create or update trial ``number``'s line."""
        line = self.lines.get(number)
        if line is None:
            line = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                            scales={"x": self.x, "y": self.y}, labels=[f"#{number}"])
            self.lines[number] = line
            self.figure.marks = [*self.figure.marks, line]
        with line.hold_sync():
            line.x = np.asarray(steps, np.float32)
            line.y = np.asarray(values, np.float32)
            line.colors = [PALETTE[0] if best else PRUNED if status == "pruned" else GREY]
            line.stroke_width = 3 if best else 1
            line.opacities = [1.0 if best or status == "running" else 0.6]

    def close(self) -> None:
        """Close every widget of the chart."""
        for w in [self.figure, *self.lines.values(), self.x, self.y]:
            close_tree(w)


class ParallelChart:
    """Parallel coordinates: x is the axis index, y the value scaled to [0, 1]."""

    def __init__(self) -> None:
        self.x = bq.LinearScale(min=-0.2)
        self.y = bq.LinearScale(min=-0.05, max=1.05)
        self.color = bq.ColorScale(scheme="viridis")
        self.ax_x = bq.Axis(scale=self.x, num_ticks=2, tick_values=np.zeros(0))
        self.lines = bq.Lines(x=np.zeros(0), y=np.zeros((0, 0)), color=np.zeros(0),
                              scales={"x": self.x, "y": self.y, "color": self.color},
                              stroke_width=1.5, opacities=[0.8])
        self.labels = bq.Label(x=[], y=[], text=[], scales={"x": self.x, "y": self.y},
                               align="middle", default_size=11)
        self.figure = _figure("parallel coordinates", [self.ax_x], "420px")
        self.figure.marks = [self.lines, self.labels]

    def update(self, df: Any, space: dict, objective: str) -> None:
        """Redraw from a results frame."""
        pc = parallel(df, space, objective)
        n = len(pc.axes)
        self.x.max = n - 1 + 0.2
        names = [f"{a} [{lo}..{hi}]" for a, (lo, hi) in zip(pc.axes, pc.ticks)]
        with self.lines.hold_sync(), self.labels.hold_sync():
            self.lines.x = np.arange(n, dtype=float)
            self.lines.y = np.nan_to_num(pc.y, nan=-0.04) if len(pc.y) else np.zeros((0, n))
            self.lines.color = pc.y[:, -1] if len(pc.y) else np.zeros(0)
            self.labels.x, self.labels.y = list(range(n)), [1.02] * n
            self.labels.text = names
        self.ax_x.tick_values = np.arange(n, dtype=float)

    def close(self) -> None:
        """Close every widget of the chart."""
        for w in [self.figure, self.lines, self.labels, self.x, self.y, self.color,
                  self.ax_x]:
            close_tree(w)
