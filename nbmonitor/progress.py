"""A compact text progress line for scripts, consoles and logs (no widgets).

On a terminal the line is redrawn in place with ``\\r``; anywhere else (a pipe, a
file, a CI log, a worker's output) it is written as one plain line every
``interval`` seconds and at the end, as tqdm does when its stream is not a tty.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from . import say
from .grouping import is_meter
from .names import short
from .run import Run
from .widgets.header import header_fields

PLAIN_INTERVAL = 10.0  # seconds between lines when the stream is not a terminal


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (False when unsure)."""
    try:
        return bool(stream.isatty())
    except Exception:
        return False


REPEATS = 3  # alert lines shown per rule and series


class TextProgress:
    """Progress of ``run`` on ``stream``; :meth:`close` prints the summary."""

    def __init__(self, run: Run, stream: TextIO | None = None, tty: bool | None = None,
                 interval: float = PLAIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.run = run
        self.stream = stream or sys.stderr
        self.tty = is_tty(self.stream) if tty is None else tty
        self.interval = interval
        self.clock = clock
        self._width = 0
        self._events = 0  # run events already looked at for alerts
        self._last_plain: float | None = None
        self._last_text = ""
        self._shown: dict[tuple, int] = {}  # alert lines shown per (rule, series)

    def line(self, rate: float) -> str:
        """The progress line: name, status, step, epoch (once known), rate (once
        known), the first metrics, elapsed and ETA (when known)."""
        f = header_fields(self.run, rate)
        parts = [short(f["name"], 40), f["status"], f"step {f['step']}"]
        parts += [f"epoch {f['epoch']}"] if f["epoch"] else []
        parts += [f["rate"]] if f["rate"] else []
        for s in list(self.run.buffer)[:4]:
            if not is_meter(s.name):
                parts.append(f"{short(s.name, 40)} {s.last_value:.4g}")
        parts.append(f"{f['elapsed']} elapsed" + (f", {f['eta']} left" if f["eta"] else ""))
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

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
            # a drawn \r line stays open until the next one: messages must end it first
            say.line_open = (self.stream is sys.stderr and not text.endswith("\n"))
        except Exception:  # a closed or broken stream must not break training
            pass

    def refresh(self, rate: float) -> None:
        """Redraw the line (tty), or write one every ``interval`` seconds."""
        alerts = self.alert_lines()
        text = self.line(rate)
        if not self.tty:
            if alerts:
                self._write("\n".join(alerts) + "\n")
            now = self.clock()
            if self._last_plain is None or now - self._last_plain >= self.interval:
                self._last_plain = now
                self._last_text = text
                self._write(text + "\n")
            return
        if alerts:
            self._write("\r" + " " * self._width + "\r" + "\n".join(alerts) + "\n")
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self._write("\r" + text + " " * pad)

    def close(self, summary: str) -> None:
        """End the line and print the run's summary."""
        if self.tty:
            self._write("\n" + summary + "\n")
            return
        text = self.line(0.0)
        if text != self._last_text:
            self._write(text + "\n")
        self._write(summary + "\n")
