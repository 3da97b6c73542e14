"""Metrics from what a cell prints: ``name: number`` and ``name=number`` pairs.

The cell's text reaches the output unchanged and in order; parsing happens after
each complete line was forwarded. See README ("Printed metrics") for the patterns.
"""
from __future__ import annotations

import re
import sys
import threading
from typing import Callable, TextIO

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|[-+]inf"
# A name is one or two words starting with a letter; it may hold / . _ - (train/loss).
_PAIR = re.compile(
    r"(?<![\w./\-])"
    r"(?P<name>[A-Za-z][\w./\-]*(?: [A-Za-z][\w./\-]*)?)"
    r"(?:\s*(?P<sep>=)\s*|(?P<colon>:)\s+)"
    r"(?P<value>" + _NUM + r")(?P<pct>%?)"
    r"(?![\w.:/\[(])",
)
# Keys that say where we are rather than what we measured.
STEP_KEYS = {"step", "global_step", "iter", "iteration", "it", "batch"}
EPOCH_KEYS = {"epoch"}
_SKIP_WORDS = {"http", "https", "file", "line", "pid", "port", "seed", "version", "id",
               "size", "shape", "dim", "rank", "device", "cuda", "gpu", "worker", "workers",
               "total", "samples", "n", "num"}


def normalize(name: str) -> str:
    """Lower-case, spaces to ``_``: ``Avg loss`` -> ``avg_loss``."""
    return re.sub(r"\s+", "_", name.strip()).lower()


def parse_line(line: str) -> list[tuple[str, float, bool]]:
    """The ``(name, value, is_percent)`` metric pairs in one printed line."""
    out = []
    for m in _PAIR.finditer(line):
        name = normalize(m.group("name"))
        words = name.split("_")
        if name in _SKIP_WORDS or words[-1] in _SKIP_WORDS:
            continue
        try:
            value = float(m.group("value"))
        except ValueError:
            continue
        out.append((name, value, bool(m.group("pct"))))
    return out


class MetricTee:
    """A stdout stand-in: forwards every write first, then reads metrics from lines."""

    def __init__(self, target: TextIO, on_line: Callable[[str], None],
                 accept: Callable[[], bool] | None = None) -> None:
        self._target = target
        self._on_line = on_line
        self._accept = accept  # whether this write's thread is the run's
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        n = self._target.write(s)
        if self._accept is not None and not self._accept():
            return n  # another thread's text (other cells, in background mode)
        try:
            if "\n" in s or "\r" in s:
                with self._lock:
                    text = self._partial + s
                    *lines, self._partial = re.split(r"[\r\n]", text)
                for line in lines:
                    if line:
                        self._on_line(line)
            else:
                with self._lock:
                    self._partial = (self._partial + s)[-4096:]
        except Exception:  # a parse problem must never reach the user's print
            pass
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


def install(run, ignore: Callable[[str], bool] | None = None) -> PrintHandle:
    """Tee ``sys.stdout`` so printed metrics become series of ``run``.

    Printed metrics are recorded at the run's global step when something counts
    steps (optimizer hooks, ``nbmonitor.log(step=...)``), at a ``step=``/``iter:``
    value on the same line, or else at the series' own index. Only lines that
    the run's thread writes (``run.thread_ident``, when set) are read.
    """
    def on_line(line: str) -> None:
        if ignore is not None and ignore(line):
            return
        pairs = parse_line(line)
        if not pairs:
            return
        step = None
        metrics = []
        for name, value, _ in pairs:
            if name in STEP_KEYS:
                step = value
            elif name in EPOCH_KEYS:
                run.set_epoch(int(value))
            else:
                metrics.append((name, value))
        for name, value in metrics:
            run.log_auto(name, value, step)

    original = sys.stdout
    def accept() -> bool:
        return run.thread_ident is None or threading.get_ident() == run.thread_ident

    tee = MetricTee(original, on_line, accept)
    sys.stdout = tee
    return PrintHandle(tee, original)
