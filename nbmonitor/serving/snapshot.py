"""The frozen output of an inference monitor: a PNG of latency, error rate, drift
and quality charts plus the confusion matrix, and the plain-text summary. Drawn
with matplotlib's Agg backend, like the training snapshot; needs no kernel."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..snapshot import OUTPUT_LIMIT, _png, chart_axes
from ..style import PALETTE
from ..summary import alert_events
from .summary import summary, text

ALERT_COLOR = "#cf222e"


def _plot(ax: Any, run: Any, names: list[tuple[str, str]]) -> bool:
    drawn = False
    for j, (name, label) in enumerate(names):
        if name not in run.buffer:
            continue
        v = run.buffer.series(name).view(2000)
        ax.plot(v.steps, v.values, color=PALETTE[j % len(PALETTE)], lw=1.5, label=label,
                marker="." if len(v) < 3 else None)
        drawn = True
    if drawn:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes,
                fontsize=8, color="#57606a")
    ax.set_xlabel("calls", fontsize=7)
    return drawn


def draw(mon: Any, s: dict[str, Any]) -> Figure:
    """The figure: latency, error rate, drift, quality, confusion matrix."""
    run = mon.run
    conf = s.get("confusion")
    n = 5 if conf else 4
    cols = 3
    rows = math.ceil(n / cols)
    width, height = 4.0 * cols, 2.6 * rows + 0.4
    fig = Figure(figsize=(width, height), dpi=80)
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.15 / width, top=1 - 0.65 / height,
                        bottom=0.5 / height, wspace=0.28, hspace=0.55)
    lat = s["latency_ms"]
    title = (f"{run.name} - inference - {run.status} - {s['requests']:,} calls - "
             f"p50 {lat['p50'] or 0:.3g} ms, p99 {lat['p99'] or 0:.3g} ms")
    fig.suptitle(title.replace("$", r"\$"), fontsize=10, y=1 - 0.08 / height)
    _plot(chart_axes(fig, rows, cols, 0, "latency (ms, window)"), run,
          [(f"latency/{q}_ms", q) for q in ("p50", "p90", "p99")])
    ax = chart_axes(fig, rows, cols, 1, "error rate")
    if _plot(ax, run, [("calls/error_rate", "errors")]):
        ax.set_ylim(bottom=0)  # a rate: no negative half when it is flat at 0
    ax = chart_axes(fig, rows, cols, 2, "drift PSI (highest first)")
    _plot(ax, run, [(f"drift/psi/{k}", k) for k in list(s["drift"])[:5]])
    ax.axhline(0.2, color=ALERT_COLOR, ls=":", lw=1.0)
    for e in alert_events(run):
        if e.kind == "alert" and str(e.data.get("series", "")).startswith("drift/psi/"):
            ax.axvline(e.step, color=ALERT_COLOR, ls=":", lw=1.0, alpha=0.8)
    _plot(chart_axes(fig, rows, cols, 3, "quality (labelled rows)"), run,
          [(f"quality/{k}", k) for k in ("accuracy", "f1", "mae", "rmse")])
    if conf:
        ax = chart_axes(fig, rows, cols, 4, "confusion (true x predicted)")
        m = np.asarray(conf["matrix"])
        ax.imshow(m, cmap="Blues")
        ax.grid(False)
        ticks = range(len(conf["labels"]))
        ax.set_xticks(ticks, conf["labels"])
        ax.set_yticks(ticks, conf["labels"])
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7,
                    color="white" if v > m.max() / 2 else "black")
    return fig


def bundle(mon: Any) -> dict[str, str]:
    """The MIME bundle that replaces the live panel: PNG and text, at most
    ``OUTPUT_LIMIT`` bytes."""
    s = summary(mon)
    alerts = [f"calls {e.step:g}: {e.message}" for e in alert_events(mon.run)]
    body = text(s, alerts)
    fig = draw(mon, s)
    png = _png(fig, fig.dpi)
    dpi = fig.dpi
    budget = OUTPUT_LIMIT - len(body.encode()) - 2_000
    while len(png) > budget and dpi > 20:
        dpi *= 0.8
        png = _png(fig, dpi)
    return {"image/png": png, "text/plain": body}
