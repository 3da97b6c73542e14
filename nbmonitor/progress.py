"""A compact text progress line for scripts and consoles (no widgets)."""
from __future__ import annotations

import sys
from typing import TextIO

from .grouping import is_meter
from .run import Run
from .widgets.header import header_fields


class TextProgress:
    """Redraws one ``\\r`` line on ``stream``; prints a summary at the end."""

    def __init__(self, run: Run, stream: TextIO | None = None) -> None:
        self.run = run
        self.stream = stream or sys.stderr
        self._width = 0
        self._events = 0  # run events already looked at for alerts

    def line(self, rate: float) -> str:
        f = header_fields(self.run, rate)
        parts = [f["name"], f["status"], f"step {f['step']}", f"epoch {f['epoch']}", f["rate"]]
        for s in list(self.run.buffer)[:4]:
            if not is_meter(s.name):
                parts.append(f"{s.name} {s.last_value:.4g}")
        parts.append(f"{f['elapsed']}<{f['eta']}")
        return " | ".join(parts)

    def alert_lines(self) -> list[str]:
        """New alert events since the last call, one line each."""
        with self.run._events_lock:
            new = self.run.events[self._events:]
            self._events += len(new)
        return [f"nbmonitor {e.kind.replace('_', ' ')} (step {e.step:g}): {e.message}"
                for e in new if e.kind in ("alert", "alert_error")]

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
        except Exception:
            pass

    def close(self, summary: str) -> None:
        try:
            self.stream.write("\n" + summary + "\n")
            self.stream.flush()
        except Exception:
            pass
