"""Comparing stored runs: which runs, their curves, a table of hyperparameters and
final metrics with the differences marked, and a static rendering (PNG, HTML,
text) that needs no kernel. The widget in :mod:`nbmonitor.widgets.compare` draws
the same data live."""
from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from matplotlib.figure import Figure

from .grouping import group_of, is_meter
from .names import short
from .snapshot import _plain, chart_axes
from .store.history import StoredRun, reference_curves, resolve
from .store.sqlite import SqliteStore
from .widgets.chart import PALETTE

DASHES = ["-", "--", ":", "-."]
DIFF_STYLE = "background:#fff3b0"
COLUMNS = 2  # charts per row, live and frozen
WIDTH_PX = 880  # shown width of the image (drawn at twice that)
# The live table follows JupyterLab's theme; the static one keeps its own light colours.
LIVE_CSS = """<style>
.nbm-compare-table {border-collapse:collapse;font-size:12px;
  color:var(--jp-ui-font-color1,#1f2328);font-variant-numeric:tabular-nums}
.nbm-compare-table th, .nbm-compare-table td {padding:1px 8px;text-align:right;
  border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}
.nbm-compare-table tbody th {text-align:left}
.nbm-compare-table tr.nbm-differs {background:var(--jp-warn-color3,#fff3b0)}
body[data-jp-theme-light='false'] .nbm-compare-table tr.nbm-differs {background:#4d3d00}
</style>"""


def run_colors(runs: list[StoredRun]) -> dict[str, str]:
    """Run id -> colour, by the run's place among all compared runs: a run keeps its
    colour whichever runs are picked, live and frozen."""
    return {r.id: PALETTE[i % len(PALETTE)] for i, r in enumerate(runs)}


def pick_runs(store: SqliteStore, refs: list[str] | None = None,
              notebook: str | None = None, last: int = 5) -> list[StoredRun]:
    """The runs ``refs`` name; without refs, the ``last`` most recent runs of
    ``notebook`` (of the whole store when the notebook is unknown or has none).
    Oldest first."""
    if refs:
        return [StoredRun(store, resolve(store, r)) for r in refs]
    rows = store.query("SELECT id FROM runs WHERE notebook = ? ORDER BY started DESC, "
                       "rowid DESC LIMIT ?", (notebook, last)) if notebook else []
    if not rows:
        rows = store.query("SELECT id FROM runs ORDER BY started DESC, rowid DESC LIMIT ?",
                           (last,))
    return [StoredRun(store, r["id"]) for r in reversed(rows)]


def label(run: StoredRun) -> str:
    """``name (id)``: names repeat, ids do not (the name cut for display)."""
    return f"{short(run.name)} ({run.id[:8]})"


def metric_groups(curves: dict[str, dict[str, tuple]]) -> dict[str, list[str]]:
    """Chart group -> series names, over all runs, first-seen order, meters left out."""
    out: dict[str, list[str]] = {}
    for per_run in curves.values():
        for name in per_run:
            if not is_meter(name):
                names = out.setdefault(group_of(name), [])
                if name not in names:
                    names.append(name)
    return out


def load_curves(runs: list[StoredRun], max_points: int = 2000) -> dict[str, dict[str, tuple]]:
    """Run id -> series -> ``(steps, values)``, decimated to ``max_points``."""
    return {r.id: reference_curves(r, max_points) for r in runs}


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return short(v)


def table(runs: list[StoredRun]) -> list[tuple[str, list[str], bool]]:
    """Rows ``(label, cell per run, differs)``: status, steps, every hyperparameter,
    then last and best of every metric."""
    rows: list[tuple[str, list[str]]] = [("status", [r.status for r in runs]),
                                         ("step", [_fmt(r.step) for r in runs])]
    keys = list(dict.fromkeys(k for r in runs for k in r.hparams))
    rows += [(f"hp.{short(k)}", [_fmt(r.hparams.get(k)) for r in runs]) for k in keys]
    stats = [r.summary() for r in runs]
    names = list(dict.fromkeys(n for s in stats for n in s if not is_meter(n)))
    for n in names:
        for which in ("last", "best"):
            rows.append((f"{which}.{short(n)}", [_fmt(s.get(n, {}).get(which)) for s in stats]))
    return [(lab, cells, len(set(cells)) > 1) for lab, cells in rows]


def table_html(runs: list[StoredRun], live: bool = False) -> str:
    """An HTML table of :func:`table`; rows that differ are highlighted. Every user
    string is escaped. ``live``: colours from JupyterLab's theme (the widget), else
    light colours of its own (the snapshot)."""
    e = html.escape
    head = "".join(f"<th>{e(label(r))}</th>" for r in runs)
    body = []
    for lab, cells, differs in table(runs):
        if live:
            attr = " class='nbm-differs'" if differs else ""
        else:
            attr = f' style="{DIFF_STYLE}"' if differs else ' style="background:#ffffff"'
        tds = "".join(f"<td>{e(c)}</td>" for c in cells)
        body.append(f"<tr{attr}><th style='text-align:left'>{e(lab)}</th>{tds}</tr>")
    if live:
        return (f"{LIVE_CSS}<table class='nbm-compare nbm-compare-table'><thead><tr><th></th>"
                f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    return (f"<table class='nbm-compare' style='color:#1f2328;background:#ffffff'><thead>"
            f"<tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def table_text(runs: list[StoredRun]) -> str:
    """The table as aligned plain text; ``*`` marks the rows that differ."""
    rows = [("", [label(r) for r in runs], False), *table(runs)]
    w0 = max(len(lab) for lab, _, _ in rows) + 2
    widths = [max(len(r[1][i]) for r in rows) for i in range(len(runs))]
    lines = []
    for lab, cells, differs in rows:
        mark = "*" if differs else " "
        lines.append(f"{mark}{lab:<{w0}}" + "  ".join(f"{c:<{w}}" for c, w in
                                                       zip(cells, widths)))
    return "\n".join(line.rstrip() for line in lines)


def draw(runs: list[StoredRun], curves: dict[str, dict[str, tuple]],
         colors: dict[str, str] | None = None) -> Figure:
    """One subplot per metric group, :data:`COLUMNS` a row; a colour per run
    (``colors``, default :func:`run_colors` of ``runs``), a dash per series."""
    colors = colors or run_colors(runs)
    curves = {r.id: curves.get(r.id, {}) for r in runs}
    groups = metric_groups(curves)
    n = max(1, len(groups))
    cols = min(COLUMNS, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.0 * cols, 2.6 * rows + 0.4), dpi=80, layout="constrained")
    fig.suptitle(_plain("compare: " + ", ".join(short(r.name, 40) for r in runs)),
                 fontsize=10)
    for i, (key, names) in enumerate(groups.items()):
        ax = chart_axes(fig, rows, cols, i, key)
        for j, run in enumerate(runs):
            for k, name in enumerate(names):
                if name in curves.get(run.id, {}):
                    s, v = curves[run.id][name]
                    ax.plot(s, v, color=colors.get(run.id, PALETTE[j % len(PALETTE)]), lw=1.3,
                            ls=DASHES[k % len(DASHES)],
                            label=_plain(f"{short(run.name, 40)} {short(name, 60)}"))
        ax.legend(fontsize=6, loc="best")
        ax.set_xlabel("step", fontsize=7)
    if not groups:
        fig.text(0.5, 0.5, "no metrics recorded", ha="center", va="center")
    return fig


def bundle(runs: list[StoredRun], curves: dict[str, dict[str, tuple]],
           colors: dict[str, str] | None = None) -> dict[str, str]:
    """The static comparison: PNG of the curves (drawn at 2x), HTML (image and
    table), text."""
    png = io.BytesIO()
    draw(runs, curves, colors).savefig(png, format="png", dpi=160, facecolor="white")
    b64 = base64.b64encode(png.getvalue()).decode("ascii")
    img = (f"<img src='data:image/png;base64,{b64}' width='{WIDTH_PX}' "
           f"style='max-width:100%' alt='compared runs'/>")
    return {"image/png": b64,
            "text/html": f"<div class='nbm-compare-snapshot'>{img}{table_html(runs)}</div>",
            "text/plain": table_text(runs)}
