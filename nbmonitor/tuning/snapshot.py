"""The frozen output of a tuner: overlaid objective curves (best highlighted) and
parallel coordinates as a PNG, the results table as HTML, a text summary. It draws
what the live charts draw (same report axis, y range, axes, ticks and colours), on
a light background whatever the notebook's theme."""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..snapshot import _plain
from ..style import PALETTE
from .charts import FAILED, GREY, PRUNED, X_LABEL, value_range
from .parallel import parallel
from .results import best_number
from .table import table_html as _table_html

STATUS_COLORS = {"complete": GREY, "pruned": PRUNED, "failed": FAILED,
                 "running": PALETTE[1]}
WIDTH_PX = 880  # shown width; drawn at twice that for sharp text
PNG_BUDGET = 90_000  # bytes: the image is in the output twice (PNG and in the HTML)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def draw(tuner: Any) -> Figure:
    """Curves of every trial's objective, and the parallel coordinates chart."""
    df = tuner.results
    best = best_number(tuner.study)
    fig = Figure(figsize=(11, 3.9), dpi=80, layout="constrained")
    fig.suptitle(_plain(f"{tuner.study_name}: {_plural(len(df), 'trial')}"
                        + (f", best #{best} {tuner.objective}={tuner.best_value:.4g}"
                           if best is not None else "")), fontsize=11)
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.25])
    ax = fig.add_subplot(grid[0])
    ax.set_title(_plain(f"{tuner.objective} per trial"), fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    states = dict(zip(df["trial"], df["status"])) if len(df) else {}
    curves = tuner.objective_curves()
    longest = 1
    for number, (_, values) in sorted(curves.items()):
        y = np.asarray(values, float)
        x = np.arange(1, len(y) + 1)
        longest = max(longest, len(y))
        if number == best:
            continue
        color = STATUS_COLORS.get(states.get(number), GREY)
        ax.plot(x, y, color=color, lw=1.2, alpha=0.7, marker="o" if len(y) < 3 else None,
                ms=4)
    if best in curves:
        y = np.asarray(curves[best][1], float)
        ax.plot(np.arange(1, len(y) + 1), y, color=PALETTE[0], lw=2.5, label=f"best #{best}",
                marker="o" if len(y) < 3 else None, ms=5)
        ax.legend(fontsize=8)
    lo, hi = value_range([np.asarray(v, float) for _, v in curves.values()])
    ax.set_ylim(lo, hi)
    ax.set_xlim(1, max(2, longest))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(X_LABEL + "\n(grey complete, orange pruned, red failed)", fontsize=8)
    _draw_parallel(fig, fig.add_subplot(grid[1]), tuner, df, best)
    return fig


def _draw_parallel(fig: Figure, ax: Any, tuner: Any, df: Any, best: int | None) -> None:
    pc = parallel(df, tuner.space, tuner.objective)
    n = len(pc.axes)
    ax.set_title(_plain(f"parallel coordinates, colour: {tuner.objective}"
                        + (f", best #{best} red" if best in pc.trials else "")), fontsize=10)
    ax.set_xlim(-0.35, max(n - 1, 1) + 0.35)
    ax.set_ylim(-0.16, 1.13)
    ax.axis("off")
    for j, spec in enumerate(pc.specs):
        ax.plot([j, j], [0, 1], color="#9e9e9e", lw=1.2, zorder=1)
        for pos, text in zip(*spec.ticks()):
            ax.plot([j - 0.02, j], [pos, pos], color="#9e9e9e", lw=1, zorder=1)
            ax.text(j - 0.04, pos, _plain(text), ha="right", va="center", fontsize=7.5,
                    color="#444444", zorder=4)
        ax.text(j, 1.07, _plain(spec.name), ha="center", va="bottom", fontsize=8.5,
                fontweight="bold", color="#1f2328")
        rng = (f"{len(spec.categories)} values" if spec.kind == "category" else
               f"{spec.low:.3g}..{spec.high:.3g}" + (" log" if spec.kind == "log" else ""))
        ax.text(j, -0.1, rng, ha="center", va="top", fontsize=7.5, color="#57606a")
    if not len(pc.y):
        return
    lo, hi = value_range([pc.objective])
    norm = Normalize(lo, hi)
    cmap = colormaps["viridis_r" if tuner.direction == "minimize" else "viridis"]
    order = np.argsort(pc.objective)
    if tuner.direction == "minimize":
        order = order[::-1]  # better lines drawn last, on top
    y = np.nan_to_num(pc.y, nan=-0.08)
    for i in order:
        ax.plot(range(n), y[i], color=cmap(norm(pc.objective[i])), lw=1.3, alpha=0.8,
                zorder=2)
    if best in pc.trials:
        ax.plot(range(n), y[pc.trials.index(best)], color=PALETTE[3], lw=3, zorder=3)
    bar = fig.colorbar(cmap_mappable(norm, cmap), ax=ax, fraction=0.04, pad=0.01)
    bar.set_label(_plain(tuner.objective), fontsize=8)
    bar.ax.tick_params(labelsize=7)


def cmap_mappable(norm: Normalize, cmap: Any) -> Any:
    """A ScalarMappable for the colour bar."""
    from matplotlib.cm import ScalarMappable
    return ScalarMappable(norm=norm, cmap=cmap)


def table_html(df: Any, sort: str | None = None, ascending: bool = True,
               best: int | None = None) -> str:
    """The results table as static HTML (see :func:`.table.table_html`)."""
    return _table_html(df, sort, ascending, best)


def summary_text(tuner: Any) -> str:
    """Trials by status and the best parameters."""
    df = tuner.results
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    lines = [f"nbmonitor tuner {tuner.study_name}: {_plural(len(df), 'trial')}"
             + (": " if counts else "") + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if best_number(tuner.study) is not None:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}"
                           for k, v in tuner.best_params.items())
        lines.append(f"best {tuner.objective}={tuner.best_value:.6g} with {params}")
    return "\n".join(lines)


def bundle(tuner: Any) -> dict[str, str]:
    """PNG of the charts (drawn at 2x), HTML (summary, image, table), text summary."""
    fig = draw(tuner)
    dpi = 160.0
    while True:  # sharp text at 2x, smaller when the image would pass its budget
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        if buf.tell() <= PNG_BUDGET or dpi <= 60:
            break
        dpi = max(60.0, dpi * max(0.6, 0.95 * (PNG_BUDGET / buf.tell()) ** 0.5))
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    text = summary_text(tuner)
    best = best_number(tuner.study)
    page = (f"<div class='nbm-tuner-snapshot'><pre>{html.escape(text)}</pre>"
            f"<img src='data:image/png;base64,{png}' style='max-width:100%' "
            f"width='{WIDTH_PX}' alt='{html.escape(tuner.study_name)} tuner charts'/>"
            + table_html(tuner.results, tuner.objective,
                         tuner.direction == "minimize", best) + "</div>")
    return {"image/png": png, "text/html": page, "text/plain": text}
