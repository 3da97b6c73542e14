"""The dashboard's header line: run name, status, step, epoch, it/s, elapsed, ETA,
and the series that have kept one value so far (a constant lr) as plain values."""
from __future__ import annotations

import html
import time

from ..run import Run, fmt_duration
from ..stops import waiting_note
from ..style import BORDER, MUTED, TEXT, status_css


def epoch_known(run: Run) -> bool:
    """Whether the run counts epochs (an epoch was seen or announced)."""
    return run.epoch > 0 or any(e.kind == "epoch" for e in list(run.events))


def fmt_rate(rate: float) -> str:
    """``12.3 it/s`` or ``2.50 s/it``; empty while the rate is not known yet."""
    if not rate > 0:
        return ""
    return f"{rate:,.1f} it/s" if rate >= 1 else f"{1 / rate:,.2f} s/it"


def header_fields(run: Run, rate: float) -> dict[str, str]:
    """The header's values as plain strings (also used by the text progress line);
    a value not known yet (epoch, rate, ETA) is an empty string."""
    status = "paused" if run.paused and run.status == "running" else run.status
    if run.stop_requested and run.status == "running":
        status = "stopping"  # waiting for a stop point (see nbmonitor.stops)
    step = f"{run.step:,}"
    if run.total_steps:
        step += f" / {run.total_steps:,}"
    eta = run.eta(rate) if status == "running" else None
    return {
        "name": run.name,
        "status": status,
        "step": step,
        "epoch": str(run.epoch) if epoch_known(run) else "",
        "rate": fmt_rate(rate),
        "elapsed": fmt_duration(run.elapsed),
        "eta": fmt_duration(eta) if eta is not None else "",
    }


def render_header(run: Run, rate: float, note: str = "",
                  constants: dict[str, float] | None = None) -> str:
    """HTML for the header; every user-given string is escaped. Colours follow the
    JupyterLab theme."""
    f = {k: html.escape(v) for k, v in header_fields(run, rate).items()}
    note = note or waiting_note(run)
    color = status_css(f["status"])
    pct = ""
    if run.total_steps:
        frac = max(0.0, min(1.0, run.step / run.total_steps))
        pct = (f'<div class="nbm-bar" style="height:4px;background:{BORDER};margin-top:3px">'
               f'<div style="height:4px;width:{frac * 100:.1f}%;background:{color}"></div></div>')
    cells = " ".join(
        f'<span class="nbm-{k}" style="margin-right:14px;white-space:nowrap">'
        f'<b>{k}</b> {f[k]}</span>'
        for k in ("step", "epoch", "rate", "elapsed", "eta") if f[k])
    consts = " ".join(
        f'<span class="nbm-const" style="margin-right:14px;white-space:nowrap">'
        f'<b>{html.escape(name)}</b> {value:.4g}</span>'
        for name, value in (constants or {}).items())
    extra = (f'<div class="nbm-note" style="color:{MUTED}">{html.escape(note)}</div>'
             if note else "")
    if f["status"] == "paused":  # the marker: where and since when it holds
        since = next((e for e in reversed(list(run.events))
                      if e.kind == "control" and e.message == "paused"), None)
        if since is not None:
            f["status"] += (f' at step {since.step:,.0f} since '
                            f'{time.strftime("%H:%M:%S", time.localtime(since.time))}')
    return (f'<div class="nbm-header" style="font-family:monospace;font-size:12px;'
            f'color:{TEXT};line-height:18px;white-space:normal">'
            f'<span class="nbm-name" style="font-weight:bold;margin-right:10px">{f["name"]}</span>'
            f'<span class="nbm-status" style="color:{color};margin-right:14px">{f["status"]}</span> '
            f"{cells} {consts}{pct}{extra}</div>")
