"""The asynchronous device-to-host path of the torch hooks.

Device values (scalars, or vectors naming one series per element) wait here and
are copied to the host in one batch: stacked, copied with ``non_blocking=True``
into pinned memory, and read once a CUDA event says the copy landed. No host
synchronization is added to a training step.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch

Tap = Callable[[float, float], None]


class DeviceQueue:
    """Device values waiting for an asynchronous copy to the host.

    Values are stacked and copied once ``every`` of them are pending or the
    oldest has waited ``max_delay`` seconds, so charts of slow steps stay fresh.
    ``event_factory`` and ``pin`` exist so the queue's logic is testable where
    there is no GPU; in use they are ``torch.cuda.Event`` and pinned memory.
    ``taps`` maps a name to a function called with ``(step, value)`` instead of
    appending to the buffer (values the hooks need back, not series).
    """

    def __init__(self, buffer, every: int = 32, max_delay: float = 0.5,
                 event_factory: Any = None, pin: bool = True) -> None:
        self.buffer = buffer
        self.every = every
        self.max_delay = max_delay
        self.event_factory = event_factory
        self.pin = pin
        self.taps: dict[str, Tap] = {}
        self.pending: list[tuple[Sequence[str], float, torch.Tensor]] = []
        self.inflight: list[tuple[list[tuple[str, float]], torch.Tensor, Any]] = []
        self._oldest = 0.0
        self._count = 0

    def add(self, name: str, step: float, value: torch.Tensor) -> None:
        """Queue one device scalar of series ``name`` at ``step``."""
        self.add_many((name,), step, value)

    def add_many(self, names: Sequence[str], step: float, values: torch.Tensor) -> None:
        """Queue a device vector: element ``i`` is series ``names[i]`` at ``step``."""
        now = time.monotonic()
        if not self.pending:
            self._oldest = now
        self.pending.append((names, step, values))
        self._count += len(names)
        if self._count >= self.every or now - self._oldest >= self.max_delay:
            self.launch()
        if self.inflight:
            self.poll()

    def launch(self) -> None:
        """Start one batched device-to-host copy of what is pending."""
        if not self.pending:
            return
        by_device: dict[torch.device, list] = {}
        for item in self.pending:
            by_device.setdefault(item[2].device, []).append(item)
        self.pending, self._count = [], 0
        for device, items in by_device.items():
            vals = torch.cat([t.detach().reshape(-1).float() for _, _, t in items])
            host = torch.empty(vals.shape, dtype=vals.dtype, pin_memory=self.pin)
            host.copy_(vals, non_blocking=True)
            if self.event_factory is None:
                event = torch.cuda.Event()
                event.record(torch.cuda.current_stream(device))
            else:
                event = self.event_factory()
                event.record()
            keys = [(n, s) for names, s, _ in items for n in names]
            self.inflight.append((keys, host, event))

    def poll(self) -> None:
        """Record every copy that has landed, oldest first; never waits."""
        while self.inflight and self.inflight[0][2].query():
            keys, host, _ = self.inflight.pop(0)
            taps = self.taps
            for (name, step), v in zip(keys, host.tolist()):
                tap = taps.get(name)
                if tap is not None:
                    tap(step, v)
                else:
                    self.buffer.append(name, step, v)

    def drain(self) -> None:
        """At the end of a run: copy what is left and wait for it."""
        self.launch()
        for _, _, event in self.inflight:
            event.synchronize()
        self.poll()
