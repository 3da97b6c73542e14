"""The frozen output of an ended run: a PNG (and a small SVG) of the final charts
and a plain-text summary. Drawn with matplotlib's Agg backend; needs no kernel,
no widget state and no network to show."""
from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.figure import Figure

from .grouping import group_of, is_meter, is_model_series
from .meters.report import Curve, meter_notes, percent_series
from .run import Run
from .smoothing import ema, smoothable
from .style import PALETTE
from .summary import alert_events, summary_text

SVG_LIMIT = 60_000  # bytes; larger SVGs are left out, the PNG stays
SVG_POINTS = 2_500  # plotted points past which the SVG would pass SVG_LIMIT: not drawn
OUTPUT_LIMIT = 300_000  # bytes of the whole frozen output (base64 PNG, SVG, text)
MAX_CHARTS = 12  # chart groups drawn; the text summary lists every metric
ALERT_COLOR = "#cf222e"


def _plain(text: str) -> str:
    """Matplotlib reads ``$`` as mathtext; names are shown literally."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def chart_axes(fig: Figure, rows: int, cols: int, i: int, title: str):
    """The ``i``-th chart of a ``rows`` x ``cols`` grid, styled like every snapshot chart."""
    ax = fig.add_subplot(rows, cols, i + 1)
    ax.set_title(_plain(title), fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    return ax


def groups(run: Run) -> dict[str, list[str]]:
    """Chart groups of the run's series, in first-seen order."""
    out: dict[str, list[str]] = {}
    for s in run.buffer:
        if not is_meter(s.name) and not is_model_series(s.name):
            out.setdefault(group_of(s.name), []).append(s.name)
    return out


def draw(run: Run, smoothing: float = 0.6, max_points: int = 2000) -> Figure:
    """A matplotlib figure of every chart group of ``run``."""
    grouped = groups(run)
    alerts = [e for e in alert_events(run) if e.kind == "alert"]
    meters = percent_series(run)
    hidden = len(grouped) - MAX_CHARTS
    grouped = dict(list(grouped.items())[:MAX_CHARTS])
    from .snapshot_model import parts
    model = parts(run, max_points)  # the model panel: heat strip, gradient norm
    n = max(1, len(grouped) + bool(meters) + len(model))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    width, height = 4.0 * cols, 2.6 * rows + 0.4
    fig = Figure(figsize=(width, height), dpi=80)
    # Fixed margins in inches: a constrained layout costs more than the drawing.
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.15 / width, top=1 - 0.65 / height,
                        bottom=(0.5 + (0.25 if hidden > 0 else 0)) / height,
                        wspace=0.28, hspace=0.5)
    title = f"{run.name} - {run.status} - step {run.step:,}"
    if run.error:
        title += f"\n{run.error[:100]}"
    fig.suptitle(_plain(title), fontsize=10, y=1 - 0.08 / height)
    controls = control_steps(run)
    for i, (key, names) in enumerate(grouped.items()):
        ax = chart_axes(fig, rows, cols, i, key)
        for j, name in enumerate(names):
            view = run.buffer.series(name).view(max_points)
            color = PALETTE[j % len(PALETTE)]
            if smoothing > 0 and smoothable(name, len(view)):
                ax.plot(view.steps, view.values, color=color, alpha=0.25, lw=0.8)
                ax.plot(view.steps, ema(view.values, smoothing), color=color, lw=1.5,
                        label=_plain(name))
            else:
                ax.plot(view.steps, view.values, color=color, lw=1.5, marker="." if len(view) < 3 else None,
                        label=_plain(name))
        finite = [v for nm in names for v in run.buffer.series(nm).view(max_points).values
                  if np.isfinite(v)]
        if finite and min(finite) > 0 and max(finite) / min(finite) > 1e3:
            ax.set_yscale("log")
        _mark_alerts(ax, names, alerts)
        for x in controls:  # knob changes: dotted vertical rules
            ax.axvline(x, color="#cf222e", lw=0.8, ls=":", alpha=0.8)
        ax.legend(fontsize=7, loc="best")
        ax.set_xlabel("step", fontsize=7)
    for k, draw_part in enumerate(model):
        draw_part(fig.add_subplot(rows, cols, len(grouped) + k + 1))
    if meters:
        _draw_meters(fig.add_subplot(rows, cols, len(grouped) + len(model) + 1), meters, run,
                     max_points)
    elif not grouped and not model:
        fig.text(0.5, 0.5, "no metrics recorded", ha="center", va="center")
    if hidden > 0:
        fig.supxlabel(f"{hidden} more chart(s) not drawn; see the text summary", fontsize=8)
    return fig


def _mark_alerts(ax, names: list[str], alerts: list) -> None:
    """A dotted red line at the step of each alert on one of ``names``, and a
    triangle at its value when finite."""
    for e in alerts:
        if e.data.get("series") not in names:
            continue
        ax.axvline(e.step, color=ALERT_COLOR, ls=":", lw=1.0, alpha=0.8)
        value = e.data.get("value")
        if isinstance(value, (int, float)) and math.isfinite(value):
            ax.plot([e.step], [value], marker="v", color=ALERT_COLOR, ms=6, ls="none")


def control_steps(run: Run) -> list[float]:
    """Steps at which a knob (lr, momentum...) was changed during the run."""
    return sorted({e.step for e in list(run.events) if e.kind == "control" and "knob" in e.data})


def _draw_meters(ax, meters: dict[str, Curve], run: Run, max_points: int) -> None:
    """One panel of every meter as a percent over steps (over seconds when the run
    counted no steps), peaks in the legend, the meters' notes underneath."""
    from .buffer import decimate
    ax.set_title("meters (%)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.set_ylim(0, 105)
    by_step = any(len(c[0]) and c[0].max() > c[0].min() for c in meters.values())
    for j, (label, (steps, values, times)) in enumerate(meters.items()):
        x = steps if by_step else times - run.started
        s, v, _ = decimate(x, values, x, max_points)
        peak = np.nanmax(v) if np.isfinite(v).any() else float("nan")
        ax.plot(s, v, color=PALETTE[j % len(PALETTE)], lw=1.0,
                marker="." if len(v) < 3 else None, label=f"{label} (peak {peak:.0f})")
    ax.legend(fontsize=7, loc="best")
    notes = "; ".join(meter_notes(run))
    ax.set_xlabel(("step" if by_step else "seconds") + (f"\n{_plain(notes)}" if notes else ""),
                  fontsize=7)


def _png(fig: Figure, dpi: float) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _points(fig: Figure) -> int:
    return sum(len(line.get_xdata()) for ax in fig.axes for line in ax.lines)


def bundle(run: Run, smoothing: float = 0.6) -> dict[str, str]:
    """The MIME bundle that replaces the live output: PNG, small SVG, text; at most
    ``OUTPUT_LIMIT`` bytes (the PNG is redrawn at a lower resolution if needed)."""
    fig = draw(run, smoothing)
    text = summary_text(run)
    png = _png(fig, fig.dpi)
    budget = OUTPUT_LIMIT - len(text.encode()) - 2_000
    dpi = fig.dpi
    while len(png) > budget and dpi > 20:
        dpi *= max(0.5, 0.9 * math.sqrt(budget / len(png)))
        png = _png(fig, dpi)
    out = {"image/png": png, "text/plain": text}
    if _points(fig) <= SVG_POINTS:
        svg = io.BytesIO()
        fig.savefig(svg, format="svg")
        if svg.tell() <= min(SVG_LIMIT, budget - len(png)):
            out["image/svg+xml"] = svg.getvalue().decode("utf-8")
    return out
