"""The ``%monitor_compare`` widget: a run picker, overlaid curves (one bqplot chart
per metric group, a color per run, a dash per series) and the table of
hyperparameters and final metrics. "Freeze" swaps it for the static snapshot."""
from __future__ import annotations

from typing import Callable

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..compare import COLUMNS, label, metric_groups, run_colors, table_html
from ..names import short
from ..store.history import StoredRun
from ..tuning.parallel import nice_ticks
from .chart import TEXT
from .closing import close_tree

DASHES = ["solid", "dashed", "dotted", "dash_dotted"]
# Layouts that flow: the picker shrinks to its minimum then the button wraps below
# it; up to COLUMNS charts a row (the snapshot's), each at least 340 px, so a single
# chart takes the whole width and a narrow output gets one chart a row.
ROW_LAYOUT = {"display": "flex", "flex_flow": "row wrap", "align_items": "flex-start",
              "width": "100%"}
PICKER_LAYOUT = {"flex": "1 1 360px", "min_width": "240px", "max_width": "560px",
                 "width": "auto"}
BUTTON_LAYOUT = {"flex": "0 0 auto", "width": "auto", "min_width": "88px"}
GRID_LAYOUT = {"grid_template_columns": "repeat(auto-fit, minmax(min(100%, max(340px, "
                                        f"calc({100 / COLUMNS:.4g}% - 8px))), 1fr))",
               "grid_gap": "8px", "width": "100%"}
# A compact legend: small text in the theme's colour on a faint panel of the
# notebook's background, its box sized by that small text.
LEGEND_TEXT = {"font-size": "10px", "fill": TEXT}
LEGEND_BOX = {"font-size": "10px", "fill": "var(--jp-layout-color0, #ffffff)",
              "fill-opacity": 0.75, "stroke-width": 0}


def legend_label(run: str, name: str, key: str) -> str:
    """A short legend entry: the run and what tells ``name`` apart in chart ``key``
    ("slow val" for val_loss in the loss chart). bqplot sizes and places its legend
    by 16 px a character, so every character saved keeps it off the curves."""
    tag = name.replace(key, "", 1).strip("_/.- ") if key in name else name
    return f"{short(run, 14)} {tag}".strip()


def _domain(scale: bq.LinearScale, values: list[np.ndarray], pad: bool) -> np.ndarray:
    """Set ``scale``'s range to hold ``values`` (5 % padding, not below 0 for values
    that are not) and return round tick values inside it."""
    values = [v for v in values if len(v)]
    lo = float(min(v.min() for v in values)) if values else 0.0
    hi = float(max(v.max() for v in values)) if values else 1.0
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    elif pad:
        margin = (hi - lo) * 0.05
        lo, hi = (max(0.0, lo - margin) if lo >= 0 else lo - margin), hi + margin
    scale.min, scale.max = lo, hi
    return np.array(nice_ticks(lo, hi, 5), float)


class CompareWidget:
    """Live comparison of ``runs`` (curves given as run id -> series -> (x, y))."""

    def __init__(self, runs: list[StoredRun], curves: dict[str, dict[str, tuple]],
                 on_freeze: Callable[[list[StoredRun]], None] | None = None) -> None:
        self.runs = runs
        self.curves = curves
        self.colors = run_colors(runs)
        self.picker = W.SelectMultiple(options=[(label(r), r.id) for r in runs],
                                       value=tuple(r.id for r in runs), rows=min(8, len(runs)),
                                       description="runs", layout=PICKER_LAYOUT)
        self.freeze = W.Button(description="Freeze", tooltip="replace by a static image",
                               layout=BUTTON_LAYOUT)
        self.table = W.HTML(layout={"max_width": "100%", "overflow_x": "auto"})
        self.grid = W.GridBox(layout=GRID_LAYOUT)
        top = W.HBox([self.picker, self.freeze], layout=ROW_LAYOUT)
        self.widget = W.VBox([top, self.grid, self.table], layout={"width": "100%"})
        self.widget.add_class("nbm-compare")
        self._figures: list[bq.Figure] = []
        self.picker.observe(lambda _: self.redraw(), "value")
        if on_freeze is not None:
            self.freeze.on_click(lambda _: on_freeze(self.selected()))
        self.redraw()

    def selected(self) -> list[StoredRun]:
        """The picked runs, in the picker's order."""
        chosen = set(self.picker.value)
        return [r for r in self.runs if r.id in chosen]

    def _figure(self, key: str, names: list[str], runs: list[StoredRun]) -> bq.Figure:
        x, y = bq.LinearScale(), bq.LinearScale()
        marks = []
        for r in runs:
            for k, name in enumerate(names):
                if name not in self.curves.get(r.id, {}):
                    continue
                s, v = self.curves[r.id][name]
                marks.append(bq.Lines(
                    x=np.asarray(s, np.float32), y=np.asarray(v, np.float32),
                    scales={"x": x, "y": y}, colors=[self.colors[r.id]], stroke_width=1.5,
                    line_style=DASHES[k % len(DASHES)], labels=[legend_label(r.name, name, key)],
                    display_legend=True))
        # Explicit domains and round ticks: bqplot spreads its own ticks evenly over
        # a padded domain (-125m, 14.7, 29.5...) and has none for a one-point domain.
        xs = [m.x[np.isfinite(m.x)] for m in marks]
        ys = [m.y[np.isfinite(m.y)] for m in marks]
        axes = [bq.Axis(scale=x, label="step", tick_format="~s",
                        tick_values=_domain(x, xs, pad=False)),
                bq.Axis(scale=y, side="left", tick_format=".3~g",
                        tick_values=_domain(y, ys, pad=True))]
        fig = bq.Figure(title=key, marks=marks, axes=axes, animation_duration=0,
                        legend_location="top-right", display_toolbar=False,
                        legend_text=LEGEND_TEXT, legend_style=LEGEND_BOX,
                        title_style={"font-size": "13px", "fill": TEXT},
                        fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
                        layout={"width": "auto", "min_width": "0", "height": "260px"})
        fig.add_class("nbm-chart")
        return fig

    def redraw(self) -> None:
        """Rebuild the charts and the table for the picked runs."""
        runs = self.selected()
        old = self._figures
        picked = {r.id: self.curves.get(r.id, {}) for r in runs}
        self._figures = [self._figure(k, names, runs)
                         for k, names in metric_groups(picked).items()]
        self.grid.children = self._figures
        self.table.value = table_html(runs, live=True) if runs else "<i>no run picked</i>"
        for f in old:
            close_tree(f)

    def close(self) -> None:
        """Close every widget (nothing left in the saved notebook's widget state)."""
        for f in self._figures:
            close_tree(f)
        close_tree(self.widget)
