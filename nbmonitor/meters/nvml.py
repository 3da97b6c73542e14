"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, module ``pynvml``).

Series per visible GPU ``i`` (``i`` is the CUDA index, the ``cuda:i`` of torch):
``gpu{i}/util`` (%), ``gpu{i}/mem_used`` and ``gpu{i}/mem_total`` (bytes),
``gpu{i}/temp`` (C), ``gpu{i}/power`` and ``gpu{i}/power_limit`` (W). Every
``process_every`` seconds also ``gpu{i}/procs`` (compute processes on the GPU)
and ``gpu{i}/proc_mem`` (bytes this process holds), since listing processes costs
milliseconds. ``CUDA_VISIBLE_DEVICES`` is honoured in its index and ``GPU-<uuid>``
forms (NVML itself ignores it). CUDA orders devices fastest first unless
``CUDA_DEVICE_ORDER=PCI_BUS_ID``; NVML orders by PCI bus, so with mixed GPUs and no
``CUDA_VISIBLE_DEVICES`` set the two numberings may differ.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Any, Callable

from .base import BaseMeter

NO_GPU = "no NVIDIA GPU found"
NOT_INSTALLED = "GPU meters off: nvidia-ml-py is not installed (pip install nbmonitor[gpu])"


def visible_devices(spec: str | None, count: int, uuid_of: Callable[[int], str]) -> list[int]:
    """NVML indices of the GPUs CUDA would use, in CUDA order.

    ``spec`` is ``CUDA_VISIBLE_DEVICES`` (``None``: unset, every device). Like CUDA,
    the list ends at the first entry that names no device; ``GPU-`` UUIDs may be
    given by a unique prefix. MIG entries are not resolved and end the list.
    """
    if spec is None:
        return list(range(count))
    out: list[int] = []
    uuids: list[str] | None = None
    for raw in spec.split(","):
        entry = raw.strip()
        if entry.isdigit() or (entry[:1] in "+" and entry[1:].isdigit()):
            idx = int(entry)
            if idx >= count or idx in out:
                break
            out.append(idx)
            continue
        if not entry.upper().startswith("GPU-"):
            break  # empty, negative, MIG-... or garbage: CUDA stops here
        if uuids is None:
            uuids = [uuid_of(i).upper() for i in range(count)]
        hits = [i for i, u in enumerate(uuids) if u.startswith(entry.upper())]
        if len(hits) != 1 or hits[0] in out:
            break
        out.append(hits[0])
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlMeter(BaseMeter):
    """Per-GPU utilisation, memory, temperature and power from NVML.

    ``nvml`` is the NVML module (default: ``import pynvml`` from nvidia-ml-py);
    tests pass a fake. Opening happens on the first :meth:`read`: with no driver
    (``NVMLError_LibraryNotFound``, in under a millisecond) or no device the meter
    notes ``"no NVIDIA GPU found"`` and reads nothing from then on. An NVML error
    on one GPU later turns that GPU into a note; the others go on.
    """

    name = "nvml"

    def __init__(self, nvml: Any = None, *, visible: str | None = "env",
                 process_every: float | None = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._nvml = nvml
        self._visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible == "env" else visible
        self.process_every = process_every
        self._clock = clock
        self._opened = False
        self._initialized = False
        self.gpus: dict[int, Any] = {}  # CUDA index -> NVML handle (cached)
        self._static: dict[int, dict[str, float]] = {}  # mem_total, power_limit
        self._unsupported: set[tuple[int, str]] = set()
        self._next_procs = 0.0
        self._procs: dict[str, float] = {}

    # -- opening -----------------------------------------------------------
    def _open(self) -> None:
        self._opened = True
        nv = self._nvml
        if nv is None:
            try:
                with warnings.catch_warnings():  # the old `pynvml` shim warns on import
                    warnings.simplefilter("ignore")
                    import pynvml as nv
            except ImportError:
                self.note(NOT_INSTALLED)
                return
            self._nvml = nv
        try:
            nv.nvmlInit()
            self._initialized = True
            count = nv.nvmlDeviceGetCount()
            order = visible_devices(
                self._visible, count,
                lambda i: _text(nv.nvmlDeviceGetUUID(nv.nvmlDeviceGetHandleByIndex(i))))
            self.gpus = {cuda: nv.nvmlDeviceGetHandleByIndex(idx)
                         for cuda, idx in enumerate(order)}
        except nv.NVMLError as e:
            lost = tuple(getattr(nv, n) for n in ("NVMLError_LibraryNotFound",
                                                  "NVMLError_DriverNotLoaded")
                         if hasattr(nv, n))
            self.note(NO_GPU if lost and isinstance(e, lost) else f"NVML unavailable: {e}")
            self.gpus = {}
            return
        if not self.gpus:
            self.note(NO_GPU if count == 0 else
                      f"{NO_GPU} in CUDA_VISIBLE_DEVICES={self._visible!r}")
        for i, h in self.gpus.items():
            self._static[i] = self._read_static(h)

    def _read_static(self, h: Any) -> dict[str, float]:
        nv = self._nvml
        out = {"mem_total": float(nv.nvmlDeviceGetMemoryInfo(h).total)}
        try:
            out["power_limit"] = nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0
        except nv.NVMLError:
            pass
        return out

    # -- reading -----------------------------------------------------------
    def read(self) -> dict[str, float]:
        """One reading of every visible GPU; never raises for NVML errors."""
        if not self._opened:
            self._open()
        if not self.gpus:
            return {}
        out: dict[str, float] = {}
        for i in list(self.gpus):
            try:
                out.update(self._read_gpu(i, self.gpus[i]))
            except self._nvml.NVMLError as e:
                del self.gpus[i]
                self.note(f"gpu{i}: NVML error, meter off: {e}")
        if self.process_every is not None and self.gpus and self._clock() >= self._next_procs:
            self._next_procs = self._clock() + self.process_every
            self._procs = self._read_procs()
        out.update({k: v for k, v in self._procs.items()
                    if int(k[3:k.index("/")]) in self.gpus})
        return out

    def _read_gpu(self, i: int, h: Any) -> dict[str, float]:
        nv = self._nvml
        p = f"gpu{i}/"
        out = {p + "util": float(nv.nvmlDeviceGetUtilizationRates(h).gpu),
               p + "mem_used": float(nv.nvmlDeviceGetMemoryInfo(h).used)}
        out.update({p + k: v for k, v in self._static[i].items()})
        for key, call in (("temp", lambda: nv.nvmlDeviceGetTemperature(
                              h, nv.NVML_TEMPERATURE_GPU)),
                          ("power", lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0)):
            if (i, key) in self._unsupported:
                continue
            try:
                out[p + key] = float(call())
            except nv.NVMLError as e:
                if not isinstance(e, getattr(nv, "NVMLError_NotSupported", ())):
                    raise
                self._unsupported.add((i, key))
        return out

    def _read_procs(self) -> dict[str, float]:
        nv = self._nvml
        me = os.getpid()
        out: dict[str, float] = {}
        for i, h in self.gpus.items():
            try:
                procs = nv.nvmlDeviceGetComputeRunningProcesses(h)
            except nv.NVMLError:
                continue
            out[f"gpu{i}/procs"] = float(len(procs))
            mine = [p.usedGpuMemory for p in procs if p.pid == me and p.usedGpuMemory]
            out[f"gpu{i}/proc_mem"] = float(sum(mine))
        return out

    def close(self) -> None:
        """Release NVML (handles are dropped)."""
        if self._initialized:
            self._initialized = False
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
        self.gpus = {}
