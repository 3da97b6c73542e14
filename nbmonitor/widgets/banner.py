"""The dashboard's alert banner: the latest alerts, each with its time and step.

It only reads the run's events (kinds ``alert`` and ``alert_error``); the alert
engine writes them. Hidden while there is nothing to show.
"""
from __future__ import annotations

import html
import time

import ipywidgets as W

from ..style import BORDER, ERROR, MUTED, PANEL, WARN

from ..run import Event, Run

ALERT_KINDS = ("alert", "alert_error")
SHOWN = 4  # newest alerts listed; the count says how many there were


def new_alerts(run: Run, start: int) -> tuple[list[Event], int]:
    """Alert events from ``run.events[start:]``, and the index to start from next."""
    with run._events_lock:
        new = run.events[start:]
    return [e for e in new if e.kind in ALERT_KINDS], start + len(new)


def render_banner(alerts: list[Event], total: int | None = None) -> str:
    """HTML for the newest alerts (every message escaped)."""
    if not alerts:
        return ""
    total = len(alerts) if total is None else total
    rows = []
    for e in reversed(alerts[-SHOWN:]):
        color = WARN if e.kind == "alert_error" else ERROR
        when = time.strftime("%H:%M:%S", time.localtime(e.time))
        rows.append(f'<div class="nbm-alert" style="color:{color}">&#9888; {when} '
                    f'step {e.step:g}: {html.escape(e.message)}</div>')
    more = (f'<div style="color:{MUTED}">({total - SHOWN} earlier)</div>'
            if total > SHOWN else "")
    return ('<div class="nbm-banner" style="font-family:monospace;font-size:12px;'
            f'background:{PANEL};border:1px solid {BORDER};border-left:3px solid {ERROR};'
            'padding:3px 6px;margin:2px 0">'
            f'{"".join(rows)}{more}</div>')


class AlertBanner:
    """An HTML widget listing the run's alerts, newest first."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.alerts: list[Event] = []
        self._start = 0
        self.widget = W.HTML("", layout={"display": "none"})
        self.widget.add_class("nbm-alerts")

    def refresh(self) -> list[Event]:
        """Show alerts recorded since the last refresh; returns them."""
        new, self._start = new_alerts(self.run, self._start)
        if new:
            self.alerts += new
            self.widget.value = render_banner(self.alerts)
            self.widget.layout.display = ""
        return new
