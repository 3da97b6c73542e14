"""A fake NVML module (the subset of nvidia-ml-py's ``pynvml`` that meters use).

``FakeNvml(gpus=2)`` has GPUs with fixed readings; ``fail`` makes a call raise,
``on_read`` runs at every utilisation read (to record the run's step there).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable


class NVMLError(Exception):
    """Base of the fake NVML errors."""


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


GIB = 2**30


@dataclass
class FakeGpu:
    uuid: str
    util: float = 50.0
    used: float = 10 * GIB
    total: float = 80 * GIB
    temp: float = 60.0
    power_mw: float = 200_000.0
    limit_mw: float = 700_000.0
    procs: list[Any] = field(default_factory=list)


class FakeNvml:
    """Module-like object: ``NvmlMeter(nvml=FakeNvml(2))``."""

    NVMLError = NVMLError
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus: int = 2, init_error: type[Exception] | None = None) -> None:
        self.gpus = [FakeGpu(f"GPU-{i:x}{i:x}aa-0000-fake-{i}") for i in range(gpus)]
        self.init_error = init_error
        self.fail: dict[tuple[int, str], type[Exception]] = {}  # (gpu, call) -> error
        self.calls: dict[str, int] = {}
        self.on_read: Callable[[int], None] | None = None
        self.shutdown = 0

    def _call(self, name: str, h: int | None = None) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        err = self.fail.get((h, name))
        if err is not None:
            raise err(f"fake {name} failed on gpu {h}")

    def nvmlInit(self) -> None:
        self._call("init")
        if self.init_error is not None:
            raise self.init_error("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:
        self.shutdown += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        self._call("handle", i)
        return i

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return self.gpus[h].uuid

    def nvmlDeviceGetUtilizationRates(self, h: int):
        if self.on_read is not None:
            self.on_read(h)
        self._call("util", h)
        return SimpleNamespace(gpu=self.gpus[h].util, memory=0)

    def nvmlDeviceGetMemoryInfo(self, h: int):
        self._call("mem", h)
        g = self.gpus[h]
        return SimpleNamespace(used=g.used, total=g.total, free=g.total - g.used)

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> float:
        self._call("temp", h)
        return self.gpus[h].temp

    def nvmlDeviceGetPowerUsage(self, h: int) -> float:
        self._call("power", h)
        return self.gpus[h].power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> float:
        self._call("limit", h)
        return self.gpus[h].limit_mw

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[Any]:
        self._call("procs", h)
        return self.gpus[h].procs
