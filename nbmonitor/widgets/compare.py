"""The ``%monitor_compare`` widget: a run picker, overlaid curves (one bqplot chart
per metric group, a color per run, a dash per series) and the table of
hyperparameters and final metrics. "Freeze" swaps it for the static snapshot."""
from __future__ import annotations

from typing import Callable

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..compare import COLUMNS, label, metric_groups, run_colors, table_html
from ..store.history import StoredRun
from ..tuning.parallel import nice_ticks
from .closing import close_tree

DASHES = ["solid", "dashed", "dotted", "dash_dotted"]


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
                                       description="runs", layout={"width": "420px"})
        self.freeze = W.Button(description="Freeze", tooltip="replace by a static image",
                               layout={"width": "80px"})
        self.table = W.HTML()
        self.grid = W.GridBox(layout={"grid_template_columns":
                                      f"repeat({COLUMNS}, minmax(0, 1fr))",
                                      "width": "100%"})
        self.widget = W.VBox([W.HBox([self.picker, self.freeze]), self.grid, self.table])
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
                    line_style=DASHES[k % len(DASHES)], labels=[f"{r.name} {name}"],
                    display_legend=True))
        # Explicit domains and round ticks: bqplot spreads its own ticks evenly over
        # a padded domain (-125m, 14.7, 29.5...) and has none for a one-point domain.
        xs = [m.x[np.isfinite(m.x)] for m in marks]
        ys = [m.y[np.isfinite(m.y)] for m in marks]
        axes = [bq.Axis(scale=x, label="step", tick_format="~s",
                        tick_values=_domain(x, xs, pad=False)),
                bq.Axis(scale=y, side="left", tick_format=".3~g",
                        tick_values=_domain(y, ys, pad=True))]
        return bq.Figure(title=key, marks=marks, axes=axes, animation_duration=0,
                         legend_location="top-right", display_toolbar=False,
                         title_style={"font-size": "13px"},
                         fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
                         layout={"width": "auto", "min_width": "0", "height": "260px"})

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
