"""The frozen output of an ended run: a PNG (and a small SVG) of the final charts
and a plain-text summary. Drawn with matplotlib's Agg backend; needs no kernel,
no widget state and no network to show."""
from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from .grouping import group_of, is_meter, is_model_series
# charts a row and their height: the live grid's (see nbmonitor.layout)
from .layout import CHART_HEIGHT_PX, COLUMNS, GAP_PX, MODEL_EXTRA_PX
from .meters.report import Curve, meter_notes, percent_series
from .run import Run, fmt_duration
from .smoothing import ema, smoothable
from .style import PALETTE, series_colors
from .summary import alert_events, direction, summary_text
from .ticks import is_constant, linear_ticks, log_ticks, padded, wants_log

SVG_LIMIT = 60_000  # bytes; larger SVGs are left out, the PNG stays
SVG_POINTS = 2_500  # plotted points past which the SVG would pass SVG_LIMIT: not drawn
OUTPUT_LIMIT = 300_000  # bytes of the whole frozen output (base64 PNG, SVG, text)
MAX_CHARTS = 12  # chart groups drawn; the text summary lists every metric
ALERT_COLOR = "#cf222e"
DPI = 80  # the figure's size unit; the PNG is drawn at SCALE times that
SCALE = 2  # device pixels per displayed pixel: sharp text on high-density screens


def _plain(text: str) -> str:
    """Matplotlib reads ``$`` as mathtext; names are shown literally, and cut to
    :data:`nbmonitor.names.LIMIT` characters (a huge name must not slow drawing)."""
    from .names import short
    return short(text, 160).replace("\\", "\\\\").replace("$", r"\$")


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


def constants(run: Run, grouped: dict[str, list[str]], max_points: int) -> dict[str, float]:
    """Series of groups whose every series kept one value (or has one point): shown
    as values in the headline, not as charts, as the live dashboard does."""
    out: dict[str, float] = {}
    for names in grouped.values():
        views = [run.buffer.series(n).view(max_points) for n in names]
        if all(len(v) and (len(v) < 2 or is_constant(v.values)) for v in views):
            out.update({n: float(v.values[-1]) for n, v in zip(names, views)})
    return out


def headline(run: Run, consts: dict[str, float]) -> str:
    """The line under the title: duration, best values of metrics with a known
    direction, constants, and the alerts in words."""
    parts = [f"duration {fmt_duration(run.elapsed)}"]
    for name, st in run.summary().items():
        if is_meter(name) or name in consts or not math.isfinite(st["best"]):
            continue
        if direction(name) is not None and len(parts) < 4:
            parts.append(f"best {name} {st['best']:.4g}")
    parts += [f"{n} {v:.4g}" for n, v in list(consts.items())[:3]]
    alerts = alert_events(run)
    if alerts:
        first = alerts[0]
        more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
        parts.append(f"alert at step {first.step:g}: {first.message[:70]}{more}")
    return "  |  ".join(parts)


def draw(run: Run, smoothing: float = 0.6, max_points: int = 2000,
         log: dict[str, bool] | None = None,
         reference: dict[str, tuple] | None = None) -> Figure:
    """A matplotlib figure of every chart group of ``run``: the live dashboard's
    charts (same groups, colours, y scales and round ticks), a headline, meters."""
    grouped = groups(run)
    consts = constants(run, grouped, max_points)
    grouped = {k: v for k, v in grouped.items() if not all(n in consts for n in v)}
    alerts = [e for e in alert_events(run) if e.kind == "alert"]
    meters = percent_series(run)
    hidden = len(grouped) - MAX_CHARTS
    grouped = dict(list(grouped.items())[:MAX_CHARTS])
    from .snapshot_model import parts
    model = parts(run, max_points)  # the model panel: heat strip, gradient norm
    n = max(1, len(grouped), len(model))
    cols = min(COLUMNS, n)
    # the model panel starts a row of its own, below the metric charts (as live)
    metric_rows = math.ceil(len(grouped) / cols)
    rows = max(1, metric_rows + math.ceil(len(model) / cols))
    # meters: one short full-width strip under the headline, where the live
    # dashboard shows its meters (above the charts)
    meter_h = 1.8 if meters else 0.0
    # Rows as tall as the live grid's, the model panel's row with its title and note
    # lines: the output keeps its height when the image replaces the dashboard.
    row_h = (CHART_HEIGHT_PX + GAP_PX) / DPI
    extra = MODEL_EXTRA_PX / DPI * (rows - metric_rows)
    width, height = 4.6 * cols, row_h * rows + 0.8 + meter_h + extra
    fig = Figure(figsize=(width, height), dpi=DPI)
    # Fixed margins in inches: a constrained layout costs more than the drawing.
    fig.subplots_adjust(left=0.6 / width, right=1 - 0.15 / width,
                        top=1 - (0.95 + meter_h) / height,
                        bottom=(0.5 + (0.25 if hidden > 0 else 0)) / height,
                        wspace=0.25, hspace=0.4)
    title = f"{run.name} - {run.status} - step {run.step:,}"
    if run.error:
        title += f" - {run.error[:90]}"
    fig.suptitle(_plain(title), fontsize=11, y=1 - 0.08 / height, fontweight="bold")
    fig.text(0.5, 1 - 0.42 / height, _plain(headline(run, consts)), ha="center",
             va="top", fontsize=8.5, color="#444444")
    controls = control_steps(run)
    reference = reference or {}
    for i, (key, names) in enumerate(grouped.items()):
        ax = chart_axes(fig, rows, cols, i, key)
        colors = series_colors(names)
        values = []
        for name in names:
            view = run.buffer.series(name).view(max_points)
            color = colors[name]
            values.append(view.values)
            if name in reference:
                rs, rv = reference[name]
                ax.plot(rs, rv, color=color, alpha=0.35, lw=1.0, ls="--")
                values.append(np.asarray(rv, float))
            if smoothing > 0 and smoothable(name, len(view)):
                ax.plot(view.steps, view.values, color=color, alpha=0.25, lw=0.8)
                ax.plot(view.steps, ema(view.values, smoothing), color=color, lw=1.5,
                        label=_plain(name))
            else:
                ax.plot(view.steps, view.values, color=color, lw=1.5,
                        marker="." if len(view) < 3 else None, label=_plain(name))
        data = np.concatenate(values) if values else np.zeros(0)
        use_log = (log or {}).get(key)
        _scale(ax, data, wants_log(data) if use_log is None else use_log)
        _mark_alerts(ax, names, alerts)
        for x in controls:  # knob changes: dotted vertical rules
            ax.axvline(x, color="#cf222e", lw=0.8, ls=":", alpha=0.8)
        ax.legend(fontsize=7, loc="best", frameon=False, handlelength=1.2)
        ax.set_xlabel("step", fontsize=7)
    for k, draw_part in enumerate(model):
        draw_part(fig.add_subplot(rows, cols, metric_rows * cols + k + 1))
    if meters:
        mx = fig.add_axes((0.6 / width, 1 - (meter_h + 0.1) / height, 1 - 0.75 / width,
                           (meter_h - 0.75) / height))
        _draw_meters(mx, meters, run, max_points)
    elif not grouped and not model:
        fig.text(0.5, 0.5, "no changing metrics recorded", ha="center", va="center")
    if hidden > 0:
        fig.supxlabel(f"{hidden} more chart(s) not drawn; see the text summary", fontsize=8)
    return fig


def _scale(ax, data: np.ndarray, log: bool) -> None:
    """The live chart's y domain and round ticks."""
    finite = data[np.isfinite(data)]
    if log and len(finite[finite > 0]):
        pos = finite[finite > 0]
        ax.set_yscale("log")
        lo, hi = padded(float(pos.min()), float(pos.max()), log=True)
        ax.set_ylim(lo, hi)
        ax.set_yticks(log_ticks(lo, hi))
        # Plain numbers as on the live axis (d3's "~g"), no minor labels.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())
    elif len(finite):
        lo, hi = padded(float(finite.min()), float(finite.max()))
        ax.set_ylim(lo, hi)
        ax.set_yticks(linear_ticks(lo, hi, 4))


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
    ax.set_title("meters (%)", fontsize=8, loc="left")
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
    """The figure as a base64 PNG of at most 256 colours (a chart needs no more;
    a third of the bytes of a true-colour one)."""
    from PIL import Image  # matplotlib's own dependency
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    image = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _points(fig: Figure) -> int:
    return sum(len(line.get_xdata()) for ax in fig.axes for line in ax.lines)


def frozen(run: Run, smoothing: float = 0.6, log: dict[str, bool] | None = None,
           reference: dict[str, tuple] | None = None) -> tuple[dict[str, str], dict]:
    """The MIME bundle that replaces the live output (PNG drawn at ``SCALE`` x, a
    small SVG, text; at most ``OUTPUT_LIMIT`` bytes, the PNG redrawn at a lower
    resolution if needed) and its display metadata (the PNG's size in CSS pixels)."""
    fig = draw(run, smoothing, log=log, reference=reference)
    text = summary_text(run)
    dpi = fig.dpi * SCALE
    png = _png(fig, dpi)
    budget = OUTPUT_LIMIT - len(text.encode()) - 2_000
    while len(png) > budget and dpi > 20:
        dpi *= max(0.5, 0.9 * math.sqrt(budget / len(png)))
        png = _png(fig, dpi)
    out = {"image/png": png, "text/plain": text}
    w, h = fig.get_size_inches() * fig.dpi
    meta = {"image/png": {"width": int(round(w)), "height": int(round(h))}}
    if _points(fig) <= SVG_POINTS:
        svg = io.BytesIO()
        fig.savefig(svg, format="svg")
        if svg.tell() <= min(SVG_LIMIT, budget - len(png)):
            out["image/svg+xml"] = svg.getvalue().decode("utf-8")
    return out, meta


def bundle(run: Run, smoothing: float = 0.6, log: dict[str, bool] | None = None,
           reference: dict[str, tuple] | None = None) -> dict[str, str]:
    """The data of :func:`frozen` (PNG, small SVG, text)."""
    return frozen(run, smoothing, log, reference)[0]
