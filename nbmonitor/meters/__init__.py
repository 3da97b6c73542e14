"""Meters: GPU and system readings, polled by one sampler thread.

A meter is a pure ``read() -> dict[str, float]`` (see :mod:`.base`); the
:class:`Sampler` records readings in the run's buffer at the current training
step. Importing this package imports neither NVML nor torch.
"""
from __future__ import annotations

from .base import BaseMeter, Meter
from .nvml import NO_GPU, NOT_INSTALLED, NvmlMeter, visible_devices
from .sampler import Sampler, default_meters, sampler_threads
from .system import SystemMeter
from .torch_cuda import TorchCudaMeter

__all__ = ["BaseMeter", "Meter", "NO_GPU", "NOT_INSTALLED", "NvmlMeter", "Sampler",
           "SystemMeter", "TorchCudaMeter", "default_meters", "sampler_threads",
           "visible_devices"]
