"""The results table of a tuner: formatted, right-aligned numbers, the best row
highlighted, statuses coloured, columns that only workers fill (``worker``,
``error``) shown only when some trial has them.

:class:`ResultsTable` is the live widget (a header button per column: a click sorts
by it, a second click reverses); :func:`table_html` is the same table as static HTML
for the frozen snapshot. Live colours come from JupyterLab's CSS variables so the
table reads in the dark theme; the static table carries its own light colours.
Every value is escaped: study, parameter and worker names and errors are user text.
"""
from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as W

# Text colours readable on a white and on a #111 background (contrast >= 4.5:1 on
# white; the live table lightens them in dark themes through CSS variables).
STATUS_COLORS = {"complete": "#1a7f37", "pruned": "#9a6700", "failed": "#cf222e",
                 "running": "#0969da", "waiting": "#57606a"}
LOCAL_ONLY = ("worker", "error")
HIDDEN = ("run_id",)


def _local_worker() -> str:
    from .share import worker_id
    return worker_id()


def visible_columns(df: Any) -> list[str]:
    """The columns to show: no ``run_id``; ``worker`` only when another process ran
    a trial, ``error`` only when some trial has one."""
    cols = [c for c in df.columns if c not in HIDDEN]
    local = _local_worker()
    return [c for c in cols if c not in LOCAL_ONLY
            or any(isinstance(v, str) and v and v != local for v in df[c])]


def cell_text(column: str, value: Any) -> str:
    """One cell as text: 4 significant digits for floats, seconds with one decimal,
    the last line of an error."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "error":
        return str(value).strip().splitlines()[-1] if str(value).strip() else ""
    if column == "duration_s":
        return f"{float(value):.1f}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e6:
            return f"{value:.0f}" if column == "trial" else f"{value:.4g}"
        return f"{value:.4g}"
    if hasattr(value, "item"):  # numpy scalars
        return cell_text(column, value.item())
    return str(value)


def is_numeric(df: Any, column: str) -> bool:
    """True when every value of ``column`` is a number (right-aligned)."""
    values = [v for v in df[column] if v is not None and not (isinstance(v, float)
                                                              and math.isnan(v))]
    return bool(values) and all(isinstance(getattr(v, "item", lambda: v)(), (int, float))
                                and not isinstance(v, bool) for v in values)


def sorted_frame(df: Any, by: str | None, ascending: bool) -> Any:
    """``df`` sorted by ``by`` (missing values last); unchanged for an unknown column."""
    if by not in df.columns or not len(df):
        return df
    try:
        return df.sort_values(by, ascending=ascending, na_position="last", kind="stable")
    except TypeError:  # mixed types: sort by their text
        return df.sort_values(by, ascending=ascending, na_position="last", kind="stable",
                              key=lambda s: s.astype(str))


def table_html(df: Any, sort: str | None = None, ascending: bool = True,
               best: int | None = None) -> str:
    """The results as a static HTML table (light colours of its own)."""
    if not len(df):
        return "<i>no trials yet</i>"
    cols = visible_columns(df)
    df = sorted_frame(df, sort, ascending)
    numeric = {c: is_numeric(df, c) for c in cols}
    e = html.escape
    th = "padding:2px 8px;border-bottom:1px solid #999;background:#f6f8fa;color:#1f2328"
    head = "".join(f"<th style='{th};text-align:{'right' if numeric[c] else 'left'}'>"
                   f"{e(c)}</th>" for c in cols)
    body = []
    for _, row in df.iterrows():
        is_best = best is not None and row["trial"] == best
        tds = []
        for c in cols:
            style = f"padding:1px 8px;text-align:{'right' if numeric[c] else 'left'}"
            if c == "status":
                style += f";color:{STATUS_COLORS.get(row[c], '#1f2328')};font-weight:600"
            tds.append(f"<td style='{style}'>{e(cell_text(c, row[c]))}</td>")
        bg = "#fff3b0" if is_best else "#ffffff"
        body.append(f"<tr style='background:{bg};color:#1f2328'>{''.join(tds)}</tr>")
    return (f"<table class='nbm-tuner-table' style='border-collapse:collapse;"
            f"font-size:12px;font-variant-numeric:tabular-nums'><thead><tr>{head}</tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>")


CSS = """<style>
.nbm-results .nbm-th button, .nbm-results button.nbm-th {font-weight:600}
.nbm-results .nbm-col {font-size:12px;font-variant-numeric:tabular-nums;
  color:var(--jp-ui-font-color1,#1f2328)}
.nbm-results .nbm-td {height:22px;line-height:22px;padding:0 8px;white-space:nowrap;
  overflow:hidden;text-overflow:ellipsis;max-width:320px;
  border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}
.nbm-results .nbm-num {text-align:right}
.nbm-results .nbm-best {background:var(--jp-warn-color3,#fff3b0);font-weight:600}
body[data-jp-theme-light='false'] .nbm-results .nbm-best {background:#332b00}
.nbm-results .nbm-status-complete {color:var(--jp-success-color1,#1a7f37)}
.nbm-results .nbm-status-pruned {color:var(--jp-warn-color0,#9a6700)}
.nbm-results .nbm-status-failed {color:var(--jp-error-color1,#cf222e)}
.nbm-results .nbm-status-running {color:var(--jp-brand-color1,#0969da)}
body[data-jp-theme-light='false'] .nbm-results .nbm-status-complete {color:#57d364}
body[data-jp-theme-light='false'] .nbm-results .nbm-status-pruned {color:#e3b341}
body[data-jp-theme-light='false'] .nbm-results .nbm-status-failed {color:#ff7b72}
body[data-jp-theme-light='false'] .nbm-results .nbm-status-running {color:#79c0ff}
</style>"""


class ResultsTable:
    """The live results table: click a header to sort by that column."""

    def __init__(self, sort: str, ascending: bool = True) -> None:
        self.sort, self.ascending = sort, ascending
        self.df: Any = None
        self.best: int | None = None
        self._headers: dict[str, W.Button] = {}
        self.grid = W.GridBox(layout={"grid_gap": "0px", "overflow": "auto",
                                      "max_width": "100%"})
        self.grid.add_class("nbm-scroll")  # scrolls sideways when wider than the output
        self.empty = W.HTML("<i>no trials yet</i>")
        self.widget = W.VBox([W.HTML(CSS), self.empty, self.grid])
        self.widget.add_class("nbm-results")

    @property
    def value(self) -> str:
        """The table as it is shown now, as static HTML (rows in the current sort)."""
        if self.df is None:
            return "<i>no trials yet</i>"
        return table_html(self.df, self.sort, self.ascending, self.best)

    def click(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        if column == self.sort:
            self.ascending = not self.ascending
        else:
            self.sort, self.ascending = column, True
        self.render()

    def _header(self, column: str) -> W.Button:
        b = self._headers.get(column)
        if b is None:
            # Never narrower than its text: a narrow output scrolls the table instead.
            b = W.Button(description=column, tooltip=f"sort by {column}",
                         layout={"width": "auto", "min_width": "max-content",
                                 "height": "26px"})
            b.add_class("nbm-th")
            b.on_click(lambda _, c=column: self.click(c))
            self._headers[column] = b
        return b

    def update(self, df: Any, best: int | None) -> None:
        """New results; keeps the current sort."""
        self.df, self.best = df, best
        self.render()

    def render(self) -> None:
        """Redraw the table from :attr:`df` with the current sort."""
        df = self.df
        if df is None or not len(df):
            self.empty.layout.display = None
            self.grid.children = []
            return
        self.empty.layout.display = "none"
        cols = visible_columns(df)
        df = sorted_frame(df, self.sort, self.ascending)
        numeric = {c: is_numeric(df, c) for c in cols}
        headers, bodies = [], []
        for c in cols:
            b = self._header(c)
            arrow = (" ▲" if self.ascending else " ▼") if c == self.sort else ""
            b.description = c + arrow
            headers.append(b)
            bodies.append(self._column(df, c, numeric[c]))
        old = [w for w in self.grid.children if isinstance(w, W.HTML)]
        with self.grid.hold_sync():
            self.grid.layout.grid_template_columns = " ".join(["auto"] * len(cols))
            self.grid.children = headers + bodies
        for w in old:
            w.close()

    def _column(self, df: Any, column: str, numeric: bool) -> W.HTML:
        cells = []
        for number, value in zip(df["trial"], df[column]):
            cls = ["nbm-td"] + (["nbm-num"] if numeric else [])
            if column == "status":
                cls.append(f"nbm-status-{html.escape(str(value))}")
            if self.best is not None and number == self.best:
                cls.append("nbm-best")
            text = html.escape(cell_text(column, value))
            cells.append(f"<div class='{' '.join(cls)}' title='{text}'>{text}</div>")
        w = W.HTML(f"<div class='nbm-col' data-col='{html.escape(column)}'>"
                   f"{''.join(cells)}</div>")
        return w

    def close(self) -> None:
        """Close every widget of the table."""
        from ..widgets.closing import close_tree
        close_tree(self.widget)
        for b in self._headers.values():
            close_tree(b)
