"""A compact text progress line for scripts and consoles (no widgets)."""
from __future__ import annotations

import sys
from typing import TextIO

from . import say
from .grouping import is_meter
from .names import short
from .run import Run
from .widgets.header import header_fields


REPEATS = 3  # alert lines shown per rule and series


class TextProgress:
    """Redraws one ``\\r`` line on ``stream``; prints a summary at the end."""

    def __init__(self, run: Run, stream: TextIO | None = None) -> None:
        self.run = run
        self.stream = stream or sys.stderr
        self._width = 0
        self._events = 0  # run events already looked at for alerts
        self._shown: dict[tuple, int] = {}  # alert lines shown per (rule, series)

    def line(self, rate: float) -> str:
        f = header_fields(self.run, rate)
        parts = [short(f["name"], 40), f["status"], f"step {f['step']}", f"epoch {f['epoch']}", f["rate"]]
        for s in list(self.run.buffer)[:4]:
            if not is_meter(s.name):
                parts.append(f"{short(s.name, 40)} {s.last_value:.4g}")
        parts.append(f"{f['elapsed']}<{f['eta']}")
        return " | ".join(parts)

    def alert_lines(self) -> list[str]:
        """New alert events since the last call, one line each; after
        ``REPEATS`` lines for one rule on one series, one line says the rest are
        only recorded (in ``run.events`` and the store)."""
        with self.run._events_lock:
            new = self.run.events[self._events:]
            self._events += len(new)
        out = []
        for e in new:
            if e.kind not in ("alert", "alert_error"):
                continue
            key = (e.data.get("rule"), e.data.get("series"), e.kind == "alert")
            seen = self._shown[key] = self._shown.get(key, 0) + 1
            if seen <= REPEATS:
                out.append(f"nbmonitor {e.kind.replace('_', ' ')} (step {e.step:g}): "
                           f"{short(e.message, 300)}")
            if seen == REPEATS and key[2]:
                out.append(f"nbmonitor alert: rule '{key[0]}' on {key[1]} keeps firing; "
                           "further alerts are recorded, not shown")
        return out

    def refresh(self, rate: float) -> None:
        alerts = self.alert_lines()
        if alerts:
            try:
                self.stream.write("\r" + " " * self._width + "\r" + "\n".join(alerts) + "\n")
            except Exception:
                pass
        text = self.line(rate)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        try:
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            say.line_open = self.stream is sys.stderr
        except Exception:
            pass

    def close(self, summary: str) -> None:
        say.line_open = False
        try:
            self.stream.write("\n" + summary + "\n")
            self.stream.flush()
        except Exception:
            pass
