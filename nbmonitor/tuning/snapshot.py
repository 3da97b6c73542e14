"""The frozen output of a tuner: overlaid objective curves (best highlighted) and
parallel coordinates as a PNG, the results table as HTML, a text summary."""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
from matplotlib import cm
from matplotlib.figure import Figure

from ..style import PALETTE
from .parallel import parallel
from .results import best_number

STATUS_COLORS = {"complete": "#888888", "pruned": "#d62728", "failed": "#000000",
                 "running": PALETTE[1]}


def draw(tuner: Any) -> Figure:
    """Curves of every trial's objective, and the parallel coordinates chart."""
    df = tuner.results
    best = best_number(tuner.study)
    fig = Figure(figsize=(10, 3.4), dpi=80)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.15, wspace=0.25)
    fig.suptitle(f"{tuner.study_name}: {len(df)} trials"
                 + (f", best #{best} {tuner.objective}={tuner.best_value:.4g}"
                    if best is not None else ""), fontsize=10)
    ax = fig.add_subplot(1, 2, 1)
    ax.set_title(f"{tuner.objective} per trial", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    states = dict(zip(df["trial"], df["status"])) if len(df) else {}
    for number, (steps, values) in sorted(tuner.objective_curves().items()):
        if number == best:
            continue
        color = STATUS_COLORS.get(states.get(number), "#888888")
        ax.plot(steps, values, color=color, lw=0.9, alpha=0.5,
                marker="." if len(values) < 3 else None)
    curves = tuner.objective_curves()
    if best in curves:
        ax.plot(*curves[best], color=PALETTE[0], lw=2.2, label=f"best #{best}")
        ax.legend(fontsize=7)
    ax.set_xlabel("step (grey complete, red pruned)", fontsize=7)
    _draw_parallel(fig.add_subplot(1, 2, 2), tuner, df, best)
    return fig


def _draw_parallel(ax: Any, tuner: Any, df: Any, best: int | None) -> None:
    pc = parallel(df, tuner.space, tuner.objective)
    ax.set_title("parallel coordinates", fontsize=9)
    ax.set_xticks(range(len(pc.axes)))
    ax.set_xticklabels([f"{a}\n{lo}..{hi}" for a, (lo, hi) in zip(pc.axes, pc.ticks)],
                       fontsize=7)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    for x in range(len(pc.axes)):
        ax.axvline(x, color="#cccccc", lw=0.8)
    colors = cm.viridis(pc.y[:, -1] if len(pc.y) else np.zeros(0))
    for i, number in enumerate(pc.trials):
        ax.plot(range(len(pc.axes)), pc.y[i], color=colors[i],
                lw=2.5 if number == best else 1.0, alpha=1.0 if number == best else 0.6)


def table_html(df: Any, sort: str | None = None, ascending: bool = True) -> str:
    """The results table as HTML (errors cut to their last line)."""
    if not len(df):
        return "<i>no trials yet</i>"
    shown = df.drop(columns=["run_id"]).copy()
    shown["error"] = [(e or "").strip().splitlines()[-1] if isinstance(e, str) and e else ""
                      for e in shown["error"]]
    if sort in shown.columns:
        shown = shown.sort_values(sort, ascending=ascending, na_position="last")
    return shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="",
                         classes="nbm-tuner-table", border=0)


def summary_text(tuner: Any) -> str:
    """Trials by status and the best parameters."""
    df = tuner.results
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    lines = [f"nbmonitor tuner {tuner.study_name}: {len(df)} trials "
             + ", ".join(f"{n} {s}" for s, n in counts.items())]
    if best_number(tuner.study) is not None:
        lines.append(f"best {tuner.objective}={tuner.best_value:.6g} with {tuner.best_params}")
    return "\n".join(lines)


def bundle(tuner: Any) -> dict[str, str]:
    """PNG of the charts, HTML table, text summary."""
    buf = io.BytesIO()
    draw(tuner).savefig(buf, format="png")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    text = summary_text(tuner)
    page = (f"<pre>{html.escape(text)}</pre><img src='data:image/png;base64,{png}'/>"
            + table_html(tuner.results, tuner.objective))
    return {"image/png": png, "text/html": page, "text/plain": text}
