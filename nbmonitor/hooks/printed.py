"""Metrics from what a cell prints (the grammar is :mod:`.printed_parse`).

The cell's text reaches the output unchanged and in order; parsing happens after
each complete line was forwarded. A line that gave metrics is a stop point: after
a Stop request it raises ``StopRun`` once its text is out (see ``nbmonitor.stops``).
See README ("Printed metrics") for the patterns.
"""
from __future__ import annotations

import math
import re
import sys
import threading
from typing import Callable, TextIO

from .. import stops

from .printed_parse import STEP_KEYS, normalize, parse_line  # noqa: F401 (re-exported)


class MetricTee:
    """A stdout stand-in: forwards every write first, then reads metrics from lines."""

    def __init__(self, target: TextIO, on_line: Callable[[str], object],
                 accept: Callable[[], bool] | None = None,
                 stop_point: Callable[[], None] | None = None) -> None:
        self._target = target
        self._on_line = on_line  # returns true when the line gave metrics
        self._stop_point = stop_point  # after a metric line; may raise StopRun
        self._accept = accept  # whether this write's thread is the run's
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        n = self._target.write(s)
        if self._accept is not None and not self._accept():
            return n  # another thread's text (other cells, in background mode)
        got = False
        try:
            if "\n" in s or "\r" in s:
                with self._lock:
                    text = self._partial + s
                    *lines, self._partial = re.split(r"[\r\n]", text)
                for line in lines:
                    if line and self._on_line(line):
                        got = True
            else:
                with self._lock:
                    self._partial = (self._partial + s)[-4096:]
        except Exception:  # a parse problem must never reach the user's print
            pass
        if got and self._stop_point is not None:
            self._stop_point()  # the text is out already; a Stop raises here
        return n

    def flush_partial(self) -> None:
        """Parse a last line printed without a newline."""
        with self._lock:
            line, self._partial = self._partial, ""
        if line:
            try:
                self._on_line(line)
            except Exception:
                pass

    def __getattr__(self, name: str):
        return getattr(self._target, name)


class PrintHandle:
    """Restores ``sys.stdout`` on remove."""

    def __init__(self, tee: MetricTee, original: TextIO) -> None:
        self.tee = tee
        self.original = original

    def remove(self) -> None:
        self.tee.flush_partial()
        if sys.stdout is self.tee:
            sys.stdout = self.original


class _Progress:
    """``[a/b]`` progress as a step that never goes back: a counter that restarts
    (a new epoch) goes on from where the previous pass ended (``b``, else the last ``a``)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.last = -1.0
        self.total: float | None = None

    def step(self, a: float, b: float | None) -> float:
        if a < self.last:
            self.offset += self.total if self.total else self.last
        self.last, self.total = a, b
        return self.offset + a


def epoch_number(value: float) -> int:
    """A printed epoch as the run's epoch: ``0.5`` (part of the first pass) is 1."""
    return int(value) if value == int(value) else int(math.ceil(value))


def install(run, ignore: Callable[[str], bool] | None = None) -> PrintHandle:
    """Tee ``sys.stdout`` so printed metrics become series of ``run``.

    Printed metrics are recorded at a ``step``/``iter`` value on the same line;
    else at the run's global step when something counts steps (optimizer hooks,
    ``nbmonitor.log(step=...)``); else at ``[a/b]`` progress on the line (made
    monotonic across epochs); else at the series' own index. Only lines that
    the run's thread writes (``run.thread_ident``, when set) are read.
    """
    progress = _Progress()

    def on_line(line: str) -> bool:
        if ignore is not None and ignore(line):
            return False
        pairs = parse_line(line)
        if not pairs:
            return False
        step = at = total = None
        metrics = []
        for name, value, _ in pairs:
            if name == "step":
                step = value
            elif name == "epoch":
                run.set_epoch(epoch_number(value))
            elif name == "progress":
                at = value
            elif name == "progress_total":
                total = value
            else:
                metrics.append((name, value))
        if step is None and at is not None and metrics and not run.hooks_count_steps:
            step = progress.step(at, total)
        for name, value in metrics:
            run.log_auto(name, value, step)
        return bool(metrics)

    def stop_point() -> None:
        if run.halt:
            stops.boundary(run, "printed metric line")

    original = sys.stdout
    def accept() -> bool:
        return run.thread_ident is None or threading.get_ident() == run.thread_ident

    tee = MetricTee(original, on_line, accept, stop_point)
    sys.stdout = tee
    return PrintHandle(tee, original)
