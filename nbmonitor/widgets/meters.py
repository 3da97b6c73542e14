"""The meters area of the dashboard: one compact row per GPU and one for CPU/RAM.

Everything is drawn as one small HTML string with inline SVG sparklines of the
last few minutes, rebuilt only when a meter series changed (about once per
sample), so a refresh sends a few kilobytes at most. It reads the buffer and the
run's ``meter`` events only.
"""
from __future__ import annotations

import html
import re
import time

import ipywidgets as W
import numpy as np

from ..buffer import decimate
from ..grouping import is_meter
from ..run import Run

from ..style import BORDER, MUTED, PANEL, TEXT

# Theme variables with the light theme's colours as fallbacks.
GREEN = "var(--jp-success-color1, #1a7f37)"
AMBER = "var(--jp-warn-color1, #9a6700)"
RED = "var(--jp-error-color1, #cf222e)"
GREY = MUTED
_GPU = re.compile(r"^gpu(\d+)/")


def level(value: float, warn: float, crit: float) -> str:
    """Colour of a reading: green, amber from ``warn``, red from ``crit``."""
    if not np.isfinite(value):
        return GREY
    return RED if value >= crit else AMBER if value >= warn else GREEN


def pct(value: float) -> str:
    """``45%``, or ``--`` before the first reading."""
    return f"{value:.0f}%" if np.isfinite(value) else "--"


def fmt_bytes(n: float) -> str:
    """``3.2 GB`` style (powers of 1024, one decimal)."""
    if not np.isfinite(n):
        return "--"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def sparkline(times: np.ndarray, values: np.ndarray, top: float, color: str,
              width: int = 80, height: int = 18) -> str:
    """An inline SVG polyline of ``values`` over ``times``, y from 0 to ``top``."""
    ok = np.isfinite(values)
    times, values = times[ok], values[ok]
    if len(values) < 2 or not top > 0:
        return f'<svg width="{width}" height="{height}"></svg>'
    t0, t1 = float(times[0]), float(times[-1])
    span = (t1 - t0) or 1.0
    x = (times - t0) / span * (width - 2) + 1
    y = height - 1 - np.clip(values / top, 0, 1) * (height - 2)
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    return (f'<svg class="nbm-spark" width="{width}" height="{height}" '
            f'style="vertical-align:middle;background:{PANEL}">'
            f'<polyline style="fill:none;stroke:{color};stroke-width:1.2" points="{pts}"/></svg>')


def bar(frac: float, color: str, width: int = 60) -> str:
    """A horizontal usage bar, ``frac`` of it filled."""
    frac = float(np.clip(frac, 0, 1)) if np.isfinite(frac) else 0.0
    return (f'<span class="nbm-bar" style="display:inline-block;width:{width}px;height:8px;'
            f'background:{BORDER};vertical-align:middle"><span style="display:block;height:8px;'
            f'width:{frac * 100:.0f}%;background:{color}"></span></span>')


class _Reader:
    """Last values and recent windows of the run's meter series."""

    def __init__(self, run: Run, window: float, points: int, now: float) -> None:
        self.buf, self.window, self.points, self.now = run.buffer, window, points, now

    def last(self, name: str) -> float:
        return self.buf.series(name).last_value if name in self.buf else float("nan")

    def spark(self, name: str, top: float, color: str) -> str:
        if name not in self.buf:
            return ""
        s, v, t = self.buf.series(name).tail(4 * self.points + 600)
        keep = t >= self.now - self.window
        s, v, t = decimate(s[keep], v[keep], t[keep], self.points)
        return sparkline(t, v, top, color)


def _cell(label: str, body: str) -> str:
    return f'<span style="margin-right:12px"><b>{label}</b> {body}</span>'


def gpu_row(r: _Reader, i: int) -> str:
    """HTML of one GPU: util, memory bar, temperature, power, torch memory."""
    p = f"gpu{i}/"
    util, used, total = r.last(p + "util"), r.last(p + "mem_used"), r.last(p + "mem_total")
    temp, power, limit = r.last(p + "temp"), r.last(p + "power"), r.last(p + "power_limit")
    mem_pct = used / total * 100 if total > 0 else float("nan")
    mc = level(mem_pct, 80, 90)
    cells = [_cell(f"GPU{i}", f'<span style="color:{level(util, 101, 101)}">{pct(util)}</span> '
                   + r.spark(p + "util", 100, GREEN)),
             _cell("mem", f'<span style="color:{mc}">{fmt_bytes(used)} / {fmt_bytes(total)}'
                   f"</span> {bar(mem_pct / 100, mc)} " + r.spark(p + "mem_used", total, mc))]
    if np.isfinite(temp):
        tc = level(temp, 75, 85)
        cells.append(_cell("temp", f'<span style="color:{tc}">{temp:.0f}°C</span>'))
    if np.isfinite(power):
        pc = level(power / limit * 100 if limit > 0 else float("nan"), 95, 101)
        lim = f" / {limit:.0f}" if np.isfinite(limit) else ""
        cells.append(_cell("power", f'<span style="color:{pc}">{power:.0f}{lim} W</span>'))
    alloc, res = r.last(p + "torch_allocated"), r.last(p + "torch_reserved")
    if np.isfinite(alloc):
        cells.append(_cell("torch", f"{fmt_bytes(alloc)} alloc / {fmt_bytes(res)} reserved"))
    return f'<div class="nbm-gpu">{"".join(cells)}</div>'


def system_row(r: _Reader) -> str:
    """HTML of the CPU/RAM row (empty when the system meter recorded nothing)."""
    cpu, ram, rss = r.last("sys/cpu"), r.last("sys/ram"), r.last("proc/rss")
    if not any(np.isfinite(x) for x in (cpu, ram, rss)):
        return ""
    cc, rc = level(cpu, 90, 101), level(ram, 80, 90)
    cells = [_cell("CPU", f'<span style="color:{cc}">{pct(cpu)}</span> '
                   + r.spark("sys/cpu", 100, cc)),
             _cell("RAM", f'<span style="color:{rc}">{pct(ram)}</span> {bar(ram / 100, rc)} '
                   + r.spark("sys/ram", 100, rc)),
             _cell("process", fmt_bytes(rss))]
    return f'<div class="nbm-sys">{"".join(cells)}</div>'


def render_meters(run: Run, now: float | None = None, window: float = 300.0,
                  points: int = 60) -> str:
    """HTML of the whole meters area (``""`` when there is nothing to show)."""
    r = _Reader(run, window, points, time.time() if now is None else now)
    gpus = sorted({int(m.group(1)) for n in run.buffer.names() if (m := _GPU.match(n))})
    rows = [gpu_row(r, i) for i in gpus] + [system_row(r)]
    notes = [e.message for e in list(run.events) if e.kind == "meter"]
    rows += [f'<div class="nbm-meter-note" style="color:{GREY}">{html.escape(n)}</div>'
             for n in notes]
    body = "".join(x for x in rows if x)
    if not body:
        return ""
    return (f'<div class="nbm-meters" style="font-family:monospace;font-size:12px;'
            f'line-height:20px;margin:2px 0;color:{TEXT}">{body}</div>')


class MetersPanel:
    """An HTML widget redrawn from the buffer when a meter series changed."""

    def __init__(self, run: Run, window: float = 300.0, points: int = 60) -> None:
        self.run, self.window, self.points = run, window, points
        self.widget = W.HTML("")
        self.widget.add_class("nbm-meters-area")
        self._key: tuple = ()

    def refresh(self) -> None:
        """Redraw when a meter series or a meter note is new; else do nothing."""
        run = self.run
        key = (tuple(s.version for s in run.buffer if is_meter(s.name)), len(run.events))
        if key == self._key:
            return
        self._key = key
        value = render_meters(run, window=self.window, points=self.points)
        if value != self.widget.value:
            self.widget.value = value
