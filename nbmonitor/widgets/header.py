"""The dashboard's header line: run name, status, step, epoch, it/s, elapsed, ETA."""
from __future__ import annotations

import html

from ..run import Run, fmt_duration
from ..stops import waiting_note
from ..style import STATUS_COLORS



def header_fields(run: Run, rate: float) -> dict[str, str]:
    """The header's values as plain strings (also used by the text progress line)."""
    status = "paused" if run.paused and run.status == "running" else run.status
    if run.stop_requested and run.status == "running":
        status = "stopping"  # waiting for a stop point (see nbmonitor.stops)
    step = f"{run.step:,}"
    if run.total_steps:
        step += f" / {run.total_steps:,}"
    return {
        "name": run.name,
        "status": status,
        "step": step,
        "epoch": str(run.epoch),
        "rate": f"{rate:,.1f} it/s" if rate >= 1 or rate == 0 else f"{1 / rate:,.2f} s/it",
        "elapsed": fmt_duration(run.elapsed),
        "eta": fmt_duration(run.eta(rate)),
    }


def render_header(run: Run, rate: float, note: str = "") -> str:
    """HTML for the header; every user-given string is escaped."""
    f = {k: html.escape(v) for k, v in header_fields(run, rate).items()}
    note = note or waiting_note(run)
    color = STATUS_COLORS.get(f["status"], "#57606a")
    pct = ""
    if run.total_steps:
        frac = max(0.0, min(1.0, run.step / run.total_steps))
        pct = (f'<div class="nbm-bar" style="height:4px;background:#eaeef2;margin-top:3px">'
               f'<div style="height:4px;width:{frac * 100:.1f}%;background:{color}"></div></div>')
    cells = "".join(
        f'<span class="nbm-{k}" style="margin-right:14px"><b>{k}</b> {f[k]}</span>'
        for k in ("step", "epoch", "rate", "elapsed", "eta"))
    extra = (f'<div class="nbm-note" style="color:var(--jp-ui-font-color2,#57606a)">'
             f'{html.escape(note)}</div>' if note else "")
    return (f'<div class="nbm-header" style="font-family:monospace;font-size:12px">'
            f'<span class="nbm-name" style="font-weight:bold;margin-right:10px">{f["name"]}</span>'
            f'<span class="nbm-status" style="color:{color};margin-right:14px">{f["status"]}</span>'
            f"{cells}{pct}{extra}</div>")
