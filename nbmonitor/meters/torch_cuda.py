"""Memory the torch caching allocator holds, per CUDA device."""
from __future__ import annotations

import sys
from typing import Any

from .base import BaseMeter


class TorchCudaMeter(BaseMeter):
    """Reads ``gpu{i}/torch_allocated`` and ``gpu{i}/torch_reserved`` (bytes).

    Only once the training code has initialised CUDA in torch: the meter never
    imports torch nor creates a CUDA context. ``torch.cuda.memory_allocated`` and
    ``memory_reserved`` read the allocator's counters and do not synchronize.
    ``i`` is torch's device index, the same as :class:`NvmlMeter`'s.
    """

    name = "torch_cuda"

    def __init__(self, torch: Any = None) -> None:
        super().__init__()
        self._torch = torch

    def read(self) -> dict[str, float]:
        """One reading per initialised device; ``{}`` without torch or CUDA."""
        torch = self._torch or sys.modules.get("torch")
        if torch is None:
            return {}
        cuda = getattr(torch, "cuda", None)
        try:
            if cuda is None or not cuda.is_initialized():
                return {}
            out: dict[str, float] = {}
            for i in range(cuda.device_count()):
                out[f"gpu{i}/torch_allocated"] = float(cuda.memory_allocated(i))
                out[f"gpu{i}/torch_reserved"] = float(cuda.memory_reserved(i))
            return out
        except Exception as e:  # a broken CUDA context must not stop training
            self.note(f"torch CUDA meter off: {type(e).__name__}: {e}")
            self._torch = _Off()
            return {}


class _Off:
    """Stands in for torch once the meter has turned itself off."""

    cuda = None
