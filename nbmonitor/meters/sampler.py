"""The one thread that polls meters and records their readings in the run.

Each reading lands in the run's buffer as a point of series ``name`` at the
training step current when that meter was read (``run.step``), so meters line up
with the loss curves. The thread's work per tick is a few psutil/NVML calls and
a handful of buffer appends (tens of microseconds); it holds no lock the
training thread waits on and never touches widgets.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Sequence

from ..run import Run
from .base import Meter

THREAD_NAME = "nbmonitor-sampler"


def sampler_threads() -> list[threading.Thread]:
    """Sampler threads alive now (tests assert this is empty after a run)."""
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


class Sampler:
    """Polls ``meters`` every ``every`` seconds on a daemon thread.

    A meter's new notes become run events of kind ``"meter"`` (shown in the
    meters area and the final summary). A meter that raises is dropped with a
    note; the training never sees the exception.
    """

    def __init__(self, run: Run, meters: Sequence[Meter], every: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        if not every > 0:
            raise ValueError("sample_every must be a positive number of seconds")
        self.run = run
        self.meters = list(meters)
        self.every = float(every)
        self._clock = clock
        self._published: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.readings = 0

    def sample(self) -> None:
        """Read every meter once and record the values (also used by tests)."""
        run, append = self.run, self.run.buffer.append
        for meter in list(self.meters):
            step = run.step
            try:
                values = meter.read()
            except Exception as e:
                self.meters.remove(meter)
                meter.notes.append(f"{meter.name} meter off: {type(e).__name__}: {e}")
                values = {}
            t = self._clock()
            for name, value in values.items():
                append(name, step, value, t)
            self._publish(meter)
        self.readings += 1

    def _publish(self, meter: Meter) -> None:
        done = self._published.get(id(meter), 0)
        notes = meter.notes
        if len(notes) > done:
            for message in notes[done:]:
                self.run.event("meter", message, meter=meter.name)
            self._published[id(meter)] = len(notes)

    def _loop(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # never let a reading kill the thread loudly
                pass
            if self._stop.wait(self.every):
                return

    def start(self) -> "Sampler":
        """Take a first reading now and then one every ``every`` seconds."""
        self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread, then close meters that can be closed."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._thread = None
        for meter in self.meters:
            close = getattr(meter, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass


def default_meters() -> list[Meter]:
    """System, NVML and torch-CUDA meters; none of them needs a GPU to exist."""
    from .nvml import NvmlMeter
    from .system import SystemMeter
    from .torch_cuda import TorchCudaMeter
    return [SystemMeter(), NvmlMeter(), TorchCudaMeter()]
