"""The "model" panel of the dashboard: a heat strip of update ratios (layers x
watched steps, log colour, 1e-3 in the middle of the scale) and the global
gradient-norm chart. Hidden until the run records gradient statistics; reads the
buffer through :mod:`nbmonitor.model_health`, nothing else."""
from __future__ import annotations

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..layout import grid_layout
from ..model_health import GUIDE, grad_norm_series, heat
from .chart import TITLE, MetricChart
from .closing import close_tree

# log10 of the ratio: blue (too small) -> green (about 1e-3) -> red (too big)
LOW, HIGH = float(np.log10(GUIDE)) - 3, float(np.log10(GUIDE)) + 3
COLORS = ["#2166ac", "#4dac26", "#d01c8b"]


class ModelPanel:
    """Widgets of gradient and weight statistics; :meth:`refresh` on the refresher
    thread only."""

    def __init__(self, run, max_points: int = 2000, max_rows: int = 30) -> None:
        self.run = run
        self.max_points = max_points
        self.max_rows = max_rows
        self._versions: tuple = ()
        self.norms = MetricChart("grad/norm")
        self.color = bq.ColorScale(min=LOW, mid=float(np.log10(GUIDE)), max=HIGH,
                                   colors=COLORS)
        self.rows = bq.OrdinalScale(reverse=True)
        self.cols = bq.OrdinalScale()
        self.cells = bq.GridHeatMap(
            row=np.array(["", " "]), column=np.arange(2.0), color=np.full((2, 2), np.nan),
            scales={"row": self.rows, "column": self.cols, "color": self.color},
            stroke=None, null_color="transparent",
            tooltip=bq.Tooltip(fields=["row", "column", "color"],
                               labels=["layer", "step", "log10 ratio"],
                               formats=["", "", ".2f"]))
        axes = [bq.Axis(scale=self.cols, label="step", num_ticks=6, tick_format=".0f"),
                bq.Axis(scale=self.rows, orientation="vertical", side="left")]
        # No colour bar (bqplot squeezes a vertical one into the margin): the title
        # says what the colours mean and hovering a cell gives its value.
        # Short enough for a half-width grid cell; the metric charts' title style.
        self.strip = bq.Figure(title="update ratio: blue < 1e-3 green < magenta",
                               title_style=dict(TITLE),
                               marks=[self.cells], axes=axes, animation_duration=0,
                               fig_margin={"top": 30, "bottom": 35, "left": 140,
                                           "right": 20},
                               layout={"flex": "1 1 auto", "width": "auto",
                                       "min_width": "0px", "height": "240px"})
        self.strip.add_class("nbm-model-heat")
        self.note = W.HTML("")
        # Two fixed slots: a figure is put in once and never moved (a bqplot view
        # that is re-parented can lose its marks). They are cells of a grid like the
        # metric charts' (nbmonitor.layout), on a row of their own, as in the
        # snapshot; the heat slot takes no cell until it has the heat strip.
        self.heat_slot = W.Box([], layout={"display": "none"})
        self.norm_slot = W.Box([], layout={"display": "flex"})
        self.row = W.Box([self.heat_slot, self.norm_slot], layout=grid_layout())
        # Empty until the run has gradient statistics: figures are put in only then,
        # because bqplot sizes a figure when it is first drawn (a hidden one gets 0 px).
        self.widget = W.VBox([])
        self.widget.add_class("nbm-model")

    def refresh(self) -> None:
        """Redraw what changed since the last call."""
        buf = self.run.buffer
        norms = grad_norm_series(self.run)
        ratios = [s for s in buf if s.name.startswith("update_ratio/")]
        versions = tuple(buf.series(n).version for n in norms) + tuple(s.version for s in ratios)
        if versions == self._versions:
            return
        self._versions = versions
        if not self.widget.children and (norms or ratios):
            self.widget.children = [W.HTML("<b>model</b>"), self.row, self.note]
        for name in norms:
            self.norms.update(name, buf.series(name).view(self.max_points), 0.0)
        # A figure joins its slot complete (points, ranges, ticks): bqplot's axis view
        # breaks on a range change that lands while it is being built.
        if norms and not self.norm_slot.children:
            self.norm_slot.children = [self.norms.figure]
        h = heat(self.run, self.max_rows)
        if h is None:
            self.note.value = ("per-layer statistics: <code>%%monitor --watch</code>"
                               if norms else "")
            return
        height = f"{max(240, 80 + 18 * len(h.rows))}px"
        if self.strip.layout.height != height:
            self.strip.layout.height = height
        rows, steps, values = list(h.rows), h.steps.astype(np.float64), h.values
        # bqplot squeezes the colour array: keep both dimensions above one.
        if len(rows) == 1:
            rows, values = rows + [" "], np.vstack([values, np.full_like(values, np.nan)])
        if len(steps) == 1:
            steps = np.append(steps, steps[0] + 1)
            values = np.hstack([values, np.full((len(rows), 1), np.nan)])
        # Row, column and colour are validated against each other: together.
        with self.cells.hold_sync(), self.cells.hold_trait_notifications():
            self.cells.row = np.array(rows)
            self.cells.column = steps
            self.cells.color = values
        if not self.heat_slot.children:
            self.heat_slot.layout.display = "flex"
            self.heat_slot.children = [self.strip]
        self.note.value = (f"{len(h.rows)} groups of layers, merged by module prefix"
                           if h.merged else "")

    def close(self) -> None:
        self.norms.close()
        for w in (self.widget, self.strip, self.note, self.heat_slot, self.norm_slot):
            close_tree(w)
