"""The live inference panel: header (calls, rows/s, error rate, p50/p99), alert
banner, charts of latency percentiles, error rate, quality and drift over calls,
a ranked drift table and a confusion matrix. It reads the run's buffer and the
monitor's summary on the worker thread; nothing writes to it but :meth:`refresh`.
"""
from __future__ import annotations

import html
import threading
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from ..style import PALETTE
from ..widgets.banner import AlertBanner
from ..widgets.closing import close_tree
from .summary import header_text, outputs_line

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
        self._ranges: dict[str, tuple[float, float]] = {}
        self._colors: dict[str, str] = {}  # a line keeps its colour if it comes back
        self._x_max = 1.0
        self.figure = bq.Figure(title=title, marks=[], axes=axes, animation_duration=0,
                                legend_location="top-left",
                                fig_margin={"top": 30, "bottom": 35, "left": 55, "right": 10},
                                layout={"width": "380px", "height": "230px"})
        self.figure.add_class("nbm-chart")

    def update(self, name: str, steps: np.ndarray, values: np.ndarray, label: str = "") -> None:
        finite = values[np.isfinite(values)]
        self._ranges[name] = ((float(finite.min()), float(finite.max())) if len(finite)
                              else (np.nan, np.nan))
        if len(steps):
            self._x_max = max(self._x_max, float(steps.max()))
        self._fit()  # before the data: a flat line on an automatic domain draws nothing
        x, y = steps.astype(np.float32), values.astype(np.float32)
        line = self.lines.get(name)
        if line is None:
            if name not in self._colors:
                self._colors[name] = PALETTE[len(self._colors) % len(PALETTE)]
            line = self.lines[name] = bq.Lines(
                x=x, y=y, scales={"x": self.x, "y": self.y}, colors=[self._colors[name]],
                stroke_width=2, labels=[label or name], display_legend=True)
            self.figure.marks = [*self.figure.marks, line]
            return
        with line.hold_sync():
            line.x, line.y = x, y

    def _fit(self) -> None:
        """Set the y range from every line: the browser does not always widen an
        automatic domain for a line added to a drawn figure."""
        lows = [r[0] for r in self._ranges.values() if r[0] == r[0]]
        highs = [r[1] for r in self._ranges.values() if r[1] == r[1]]
        if not lows:
            return
        lo, hi = min(lows), max(highs)
        pad = (hi - lo) * 0.05 or abs(hi) * 0.1
        lo, hi = (lo - pad, hi + pad) if pad else (0.0, 1.0)  # all zeros: 0..1
        with self.y.hold_sync(), self.x.hold_sync():
            self.y.min, self.y.max = lo, hi
            self.x.min, self.x.max = 0.0, self._x_max

    def keep(self, names: set[str]) -> None:
        """Remove the lines not in ``names``."""
        gone = [n for n in self.lines if n not in names]
        if not gone:
            return
        for n in gone:
            self.lines.pop(n).close()
            self._ranges.pop(n, None)
        self.figure.marks = list(self.lines.values())
        self._fit()


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
            f"<caption style=\"white-space:nowrap\">true \\ predicted</caption><tr><th></th>{head}</tr>{rows}</table>")


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
        self.outputs = W.HTML()
        self.confusion = W.HTML()
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self.grid = W.Box([self.latency.figure, self.errors.figure, self.drift.figure,
                           self.quality.figure],
                          layout={"display": "flex", "flex_flow": "row wrap"})
        self.widget = W.VBox([self.header, self.banner.widget, self.outputs, self.grid,
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
        """Redraw from the monitor's summary and the run's series (one thread at a
        time: the worker, or the cell that displays the panel)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        s = self.mon.summary()
        self.header.value = render_header(s)
        self.banner.refresh()
        for q in ("p50", "p90", "p99"):
            self._series(self.latency, f"latency/{q}_ms", q)
        self._series(self.errors, "calls/error_rate", "error rate")
        for k in ("accuracy", "f1", "recall", "mae", "rmse"):
            self._series(self.quality, f"quality/{k}", k)
        top = [f"drift/psi/{name}" for name in list(s["drift"])[:DRIFT_LINES]]
        self.drift.keep(set(top))
        for name in top:
            if name not in self.drift.lines:
                self._seen.pop(name, None)  # back in the top: draw it whole
            self._series(self.drift, name, name.rsplit("/", 1)[1])
        line = outputs_line(s)
        self.outputs.value = (f'<div class="nbm-outputs" style="font-family:monospace;'
                              f'font-size:12px"><b>outputs</b> {html.escape(line)}</div>'
                              if line else "")
        self.table.value = drift_table(s["drift"])
        self.confusion.value = confusion_table(s.get("confusion"))

    def close(self) -> None:
        """Close every widget, so no widget state stays in the saved notebook."""
        for chart in (self.latency, self.errors, self.quality, self.drift):
            for w in [chart.figure, *chart.lines.values(), chart.x, chart.y]:
                close_tree(w)
        close_tree(self.widget)
