"""CPU, RAM and this process' resident memory, through psutil."""
from __future__ import annotations

import os
import time
from typing import Any

from .base import BaseMeter


class SystemMeter(BaseMeter):
    """Reads ``sys/cpu`` and ``sys/ram`` (both percent) and ``proc/rss`` (bytes).

    ``sys/cpu`` is the machine's CPU use since the previous reading, in percent of
    all cores (psutil's ``cpu_percent(interval=None)``; the first call is made
    here so the first reading is meaningful). ``sys/ram`` is the percent of
    physical memory in use (``virtual_memory().percent``): a percent needs no total
    to draw a bar or compare machines. ``proc/rss`` is the resident set of this
    kernel process in bytes, which is what grows when a loop keeps tensors alive.
    """

    name = "system"

    def __init__(self, psutil: Any = None, pid: int | None = None) -> None:
        super().__init__()
        if psutil is None:
            import psutil  # a hard dependency of nbmonitor
        self._psutil = psutil
        self._proc = psutil.Process(pid or os.getpid())
        psutil.cpu_percent(interval=None)  # primes the delta for the first read
        self._cpu_at = time.monotonic()

    def read(self) -> dict[str, float]:
        """One reading of CPU %, RAM % and RSS bytes; failures become a note."""
        ps = self._psutil
        out: dict[str, float] = {}
        try:
            now = time.monotonic()
            if now - self._cpu_at >= 0.05:  # a shorter delta reads as noise (often 0)
                out["sys/cpu"] = float(ps.cpu_percent(interval=None))
                self._cpu_at = now
            out["sys/ram"] = float(ps.virtual_memory().percent)
            out["proc/rss"] = float(self._proc.memory_info().rss)
        except Exception as e:  # psutil.Error, OSError on odd platforms
            self.note(f"system meter: {type(e).__name__}: {e}")
        return out
