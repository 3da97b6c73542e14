"""The live inference panel: header (calls, rows/s, error rate, p50/p99), alert
banner, charts of latency percentiles, error rate, quality and drift over calls,
a ranked drift table and a confusion matrix. It reads the run's buffer and the
monitor's summary on the worker thread; nothing writes to it but :meth:`refresh`.
"""
from __future__ import annotations

import html
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..style import PALETTE
from ..widgets.banner import AlertBanner
from ..widgets.closing import close_tree
from .summary import header_text

MAX_POINTS = 2000
DRIFT_LINES = 5  # drift chart: the columns with the highest PSI


class LineChart:
    """One bqplot figure, one line per series (float32 arrays)."""

    def __init__(self, title: str, y_label: str = "") -> None:
        self.x, self.y = bq.LinearScale(), bq.LinearScale()
        axes = [bq.Axis(scale=self.x, label="calls", num_ticks=5),
                bq.Axis(scale=self.y, orientation="vertical", label=y_label, num_ticks=4,
                        tick_format=".3g")]
        self.lines: dict[str, bq.Lines] = {}
        self.figure = bq.Figure(title=title, marks=[], axes=axes, animation_duration=0,
                                legend_location="top-left",
                                fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
                                layout={"width": "380px", "height": "230px"})
        self.figure.add_class("nbm-chart")

    def update(self, name: str, steps: np.ndarray, values: np.ndarray, label: str = "") -> None:
        line = self.lines.get(name)
        if line is None:
            color = PALETTE[len(self.lines) % len(PALETTE)]
            line = self.lines[name] = bq.Lines(
                x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                scales={"x": self.x, "y": self.y}, colors=[color], stroke_width=2,
                labels=[label or name], display_legend=True)
            self.figure.marks = [*self.figure.marks, line]
        with line.hold_sync():
            line.x = steps.astype(np.float32)
            line.y = values.astype(np.float32)


def drift_table(drift: dict[str, dict[str, float]], rows: int = 10) -> str:
    """HTML of the drift results, highest PSI first; drifted cells in red."""
    if not drift:
        return ('<div class="nbm-drift" style="font-size:12px;color:#57606a">drift: waiting '
                'for a full window</div>')
    body = []
    for name, d in list(drift.items())[:rows]:
        psi, ks = d["psi"], d.get("ks_p")
        red = ' style="color:#cf222e;font-weight:bold"'
        body.append(f"<tr><td>{html.escape(name)}</td><td{red if psi > 0.2 else ''}>"
                    f"{psi:.3f}</td><td{red if ks is not None and ks < 0.01 else ''}>"
                    f"{'--' if ks is None else f'{ks:.3g}'}</td></tr>")
    return ('<table class="nbm-drift" style="font-family:monospace;font-size:12px">'
            "<tr><th>column</th><th>PSI</th><th>KS p</th></tr>" + "".join(body) + "</table>")


def confusion_table(conf: dict[str, Any] | None) -> str:
    """HTML of the confusion matrix (rows: true class, columns: predicted)."""
    if not conf:
        return ""
    labels = [html.escape(x) for x in conf["labels"]]
    head = "".join(f"<th>{x}</th>" for x in labels)
    rows = "".join(f"<tr><th>{labels[i]}</th>" + "".join(f"<td>{v:,}</td>" for v in row)
                   + "</tr>" for i, row in enumerate(conf["matrix"]))
    return ('<table class="nbm-confusion" style="font-family:monospace;font-size:12px">'
            f"<caption>true \\ predicted</caption><tr><th></th>{head}</tr>{rows}</table>")


def render_header(s: dict[str, Any]) -> str:
    fields = header_text(s)
    cells = "".join(f'<span class="nbm-{html.escape(k.replace("/", "-"))}" '
                    f'style="margin-right:14px"><b>{html.escape(k)}</b> {html.escape(v)}</span>'
                    for k, v in fields.items())
    return (f'<div class="nbm-header" style="font-family:monospace;font-size:12px">'
            f'<span class="nbm-name" style="font-weight:bold;margin-right:10px">'
            f'{html.escape(s["model"])}</span><span class="nbm-status" '
            f'style="margin-right:14px">{html.escape(s["status"])}</span>{cells}</div>')


class InferencePanel:
    """Widgets of one inference monitor; :meth:`refresh` pulls from it."""

    def __init__(self, mon: Any) -> None:
        self.mon = mon
        self.header = W.HTML()
        self.banner = AlertBanner(mon.run)
        self.latency = LineChart("latency (ms, window)", "ms")
        self.errors = LineChart("error rate", "")
        self.quality = LineChart("quality", "")
        self.drift = LineChart("drift PSI", "")
        self.table = W.HTML()
        self.confusion = W.HTML()
        self._seen: dict[str, int] = {}
        self.grid = W.Box([self.latency.figure, self.errors.figure, self.drift.figure,
                           self.quality.figure],
                          layout={"display": "flex", "flex_flow": "row wrap"})
        self.widget = W.VBox([self.header, self.banner.widget, self.grid,
                              W.HBox([self.table, self.confusion],
                                     layout={"grid_gap": "30px"})])
        self.widget.add_class("nbm-inference")

    def _series(self, chart: LineChart, name: str, label: str) -> None:
        buf = self.mon.run.buffer
        if name not in buf:
            return
        s = buf.series(name)
        if self._seen.get(name) == s.version:
            return
        self._seen[name] = s.version
        v = s.view(MAX_POINTS)
        chart.update(name, v.steps, v.values, label)

    def refresh(self) -> None:
        """Redraw from the monitor's summary and the run's series."""
        s = self.mon.summary()
        self.header.value = render_header(s)
        self.banner.refresh()
        for q in ("p50", "p90", "p99"):
            self._series(self.latency, f"latency/{q}_ms", q)
        self._series(self.errors, "calls/error_rate", "error rate")
        for k in ("accuracy", "f1", "recall", "mae", "rmse"):
            self._series(self.quality, f"quality/{k}", k)
        for name in list(s["drift"])[:DRIFT_LINES]:
            self._series(self.drift, f"drift/psi/{name}", name)
        self.table.value = drift_table(s["drift"])
        self.confusion.value = confusion_table(s.get("confusion"))

    def close(self) -> None:
        """Close every widget, so no widget state stays in the saved notebook."""
        for chart in (self.latency, self.errors, self.quality, self.drift):
            for w in [chart.figure, *chart.lines.values(), chart.x, chart.y]:
                close_tree(w)
        close_tree(self.widget)
