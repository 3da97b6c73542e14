"""Meters read plain numbers: NVML (fake and real-without-driver), system, torch."""
from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from .fake_nvml import GIB, FakeNvml
from nbmonitor.meters import (NO_GPU, NOT_INSTALLED, NvmlMeter, SystemMeter, TorchCudaMeter,
                              visible_devices)

UUIDS = ["GPU-aaaa-1111", "GPU-aabb-2222", "GPU-cccc-3333"]


@pytest.mark.parametrize("spec, expected", [
    (None, [0, 1, 2]), ("1,0", [1, 0]), ("2", [2]), ("0,7,1", [0]), ("", []),
    ("-1", []), ("1,1", [1]), ("GPU-cc", [2]), ("GPU-aa", []), ("gpu-aabb,0", [1, 0]),
    ("MIG-1234", []), ("0, 2", [0, 2]),
])
def test_visible_devices_follows_cuda_rules(spec, expected):
    assert visible_devices(spec, 3, lambda i: UUIDS[i]) == expected


def test_nvml_two_gpus_read_every_field():
    nv = FakeNvml(2)
    nv.gpus[1].util, nv.gpus[1].used = 97.0, 79 * GIB
    meter = NvmlMeter(nv, visible=None)
    out = meter.read()
    assert out["gpu0/util"] == 50.0 and out["gpu1/util"] == 97.0
    assert out["gpu1/mem_used"] == 79 * GIB and out["gpu1/mem_total"] == 80 * GIB
    assert out["gpu0/temp"] == 60.0
    assert out["gpu0/power"] == 200.0 and out["gpu0/power_limit"] == 700.0  # W, not mW
    assert out["gpu0/procs"] == 0.0
    assert meter.notes == []
    for _ in range(5):
        meter.read()
    assert nv.calls["handle"] == 2  # handles are cached
    assert nv.calls["limit"] == 2  # the limit is read once per GPU


def test_nvml_respects_cuda_visible_devices_by_uuid():
    nv = FakeNvml(3)
    nv.gpus[2].util = 12.0
    meter = NvmlMeter(nv, visible=nv.gpus[2].uuid[:8])
    out = meter.read()
    assert out["gpu0/util"] == 12.0  # cuda:0 is NVML device 2
    assert not any(k.startswith("gpu1/") for k in out)


def test_nvml_reads_env_var(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    nv = FakeNvml(2)
    nv.gpus[1].temp = 88.0
    assert NvmlMeter(nv).read()["gpu0/temp"] == 88.0


def test_process_list_is_read_rarely():
    now = [0.0]
    nv = FakeNvml(2)
    nv.gpus[0].procs = [SimpleNamespace(pid=__import__("os").getpid(), usedGpuMemory=3 * GIB),
                        SimpleNamespace(pid=1, usedGpuMemory=None)]
    meter = NvmlMeter(nv, visible=None, process_every=30.0, clock=lambda: now[0])
    for t in range(0, 65):
        now[0] = float(t)
        out = meter.read()
    assert nv.calls["procs"] == 2 * 3  # at t=0, 30, 60 for each GPU
    assert out["gpu0/procs"] == 2.0 and out["gpu0/proc_mem"] == 3 * GIB
    off = NvmlMeter(FakeNvml(1), visible=None, process_every=None)
    off.read()
    assert "procs" not in off._nvml.calls


def test_unsupported_field_is_left_out_quietly():
    nv = FakeNvml(1)
    nv.fail[(0, "power")] = nv.NVMLError_NotSupported
    meter = NvmlMeter(nv, visible=None)
    out = meter.read() and meter.read()
    assert "gpu0/power" not in out and out["gpu0/temp"] == 60.0
    assert nv.calls["power"] == 1 and meter.notes == []


def test_driver_error_mid_run_turns_one_gpu_into_a_note():
    nv = FakeNvml(2)
    meter = NvmlMeter(nv, visible=None)
    assert "gpu1/util" in meter.read()
    nv.fail[(1, "mem")] = nv.NVMLError_GpuIsLost
    out = meter.read()
    assert "gpu0/util" in out and not any(k.startswith("gpu1/") for k in out)
    assert len(meter.notes) == 1 and meter.notes[0].startswith("gpu1: NVML error")
    meter.read()
    assert len(meter.notes) == 1
    meter.close()
    assert nv.shutdown == 1


@pytest.mark.parametrize("err", ["NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"])
def test_no_driver_says_no_gpu_once(err):
    nv = FakeNvml(2, init_error=getattr(FakeNvml, err))
    meter = NvmlMeter(nv, visible=None)
    assert meter.read() == {} and meter.read() == {}
    assert meter.notes == [NO_GPU] and nv.calls["init"] == 1


def test_zero_gpus_says_no_gpu():
    meter = NvmlMeter(FakeNvml(0), visible=None)
    assert meter.read() == {} and meter.notes == [NO_GPU]


def test_real_pynvml_without_driver_reports_no_gpu():
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_LibraryNotFound:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has an NVIDIA driver")
    meter = NvmlMeter()
    t = time.perf_counter()
    assert meter.read() == {}
    assert time.perf_counter() - t < 0.5
    assert meter.notes == [NO_GPU]


def test_missing_nvidia_ml_py_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    meter = NvmlMeter()
    assert meter.read() == {}
    assert meter.notes == [NOT_INSTALLED] and "pip install nbmonitor[gpu]" in NOT_INSTALLED


def test_import_nbmonitor_does_not_import_nvml_or_torch():
    code = ("import sys; sys.modules['pynvml'] = None; import nbmonitor, nbmonitor.meters; "
            "assert 'torch' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_system_meter_reads_percent_and_bytes():
    meter = SystemMeter()
    first = meter.read()
    assert "sys/cpu" not in first  # a delta of microseconds is noise; left out
    time.sleep(0.06)
    out = meter.read()
    assert 0.0 <= out["sys/cpu"] <= 100.0
    assert 0.0 < out["sys/ram"] < 100.0
    assert out["proc/rss"] > 10e6


def _fake_torch(initialized: bool = True, broken: bool = False):
    def alloc(i):
        if broken:
            raise RuntimeError("CUDA error: device-side assert")
        return 1000.0 * (i + 1)
    cuda = SimpleNamespace(is_initialized=lambda: initialized, device_count=lambda: 2,
                           memory_allocated=alloc, memory_reserved=lambda i: 4000.0 * (i + 1))
    return SimpleNamespace(cuda=cuda)


def test_torch_cuda_meter():
    assert TorchCudaMeter(_fake_torch()).read() == {
        "gpu0/torch_allocated": 1000.0, "gpu0/torch_reserved": 4000.0,
        "gpu1/torch_allocated": 2000.0, "gpu1/torch_reserved": 8000.0}
    assert TorchCudaMeter(_fake_torch(initialized=False)).read() == {}
    broken = TorchCudaMeter(_fake_torch(broken=True))
    assert broken.read() == {} and broken.read() == {} and len(broken.notes) == 1
