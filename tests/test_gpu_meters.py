"""NVML and torch-CUDA meters against a real GPU (skipped without one).

The fake NVML of tests/fake_nvml.py checks the meters' logic everywhere; these
check that the real library, driver and device read what the fake assumes.
"""
from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
pynvml = pytest.importorskip("pynvml")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

import nbmonitor  # noqa: E402
from nbmonitor.meters import NO_GPU, NvmlMeter, TorchCudaMeter  # noqa: E402


def busy_loop(seconds: float, n: int = 4096):
    """Optimizer steps of a wide layer for about ``seconds``; returns the step count."""
    torch.manual_seed(0)
    model = torch.nn.Linear(n, n).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    X = torch.randn(n, n, device="cuda")
    steps, end = 0, time.time() + seconds
    while time.time() < end:
        loss = model(X).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if steps % 8 == 0:  # keep the host near the device, so steps span the time
            torch.cuda.synchronize()
    return steps


def test_nvml_reads_util_memory_temperature_and_power_of_the_real_gpu():
    meter = NvmlMeter()
    try:
        r = meter.read()
    finally:
        meter.close()
    assert meter.notes == []
    for key in ("util", "mem_used", "mem_total", "temp", "power", "power_limit"):
        assert f"gpu0/{key}" in r, (key, r)
    assert 0 <= r["gpu0/util"] <= 100
    total = torch.cuda.get_device_properties(0).total_memory
    assert r["gpu0/mem_total"] == pytest.approx(total, rel=0.05)
    assert 0 < r["gpu0/mem_used"] <= r["gpu0/mem_total"]
    assert 5 <= r["gpu0/temp"] <= 110
    assert 0 < r["gpu0/power"] <= 1.2 * r["gpu0/power_limit"]
    assert 50 <= r["gpu0/power_limit"] <= 2000


def test_meter_readings_line_up_with_training_steps():
    with nbmonitor.monitor("meters", source="torch", sample_every=0.1) as run:
        steps = busy_loop(2.5)
    assert run.status == "finished" and run.step == steps
    s_util, util, t_util = run.buffer.series("gpu0/util").arrays()
    assert len(util) >= 10
    assert (s_util[1:] >= s_util[:-1]).all(), "readings carry the step current when read"
    assert s_util.max() <= steps
    assert ((s_util > 0) & (s_util < steps)).sum() >= 5, "readings taken during training"
    assert util.max() > 0, "a busy GPU shows utilisation"
    assert (t_util[1:] >= t_util[:-1]).all()
    _, used, _ = run.buffer.series("gpu0/mem_used").arrays()
    _, reserved, _ = run.buffer.series("gpu0/torch_reserved").arrays()
    assert used.max() >= reserved.max() > 0  # NVML sees at least what torch holds
    _, power, _ = run.buffer.series("gpu0/power").arrays()
    assert power.max() > 0
    assert "gpu0/temp" in run.buffer


def test_torch_cuda_meter_matches_the_allocator():
    x = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    r = TorchCudaMeter().read()
    assert r["gpu0/torch_allocated"] == torch.cuda.memory_allocated(0) >= x.numel()
    assert r["gpu0/torch_reserved"] == torch.cuda.memory_reserved(0)
    del x


class FlakyNvml:
    """The real NVML, with utilisation reads failing after ``ok`` of them (a lost GPU)."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.reads = 0

    def __getattr__(self, name):
        return getattr(pynvml, name)

    def nvmlDeviceGetUtilizationRates(self, handle):
        self.reads += 1
        if self.reads > self.ok:
            raise pynvml.NVMLError_GpuIsLost()
        return pynvml.nvmlDeviceGetUtilizationRates(handle)


def test_an_nvml_error_mid_run_becomes_a_message_and_training_goes_on():
    meter = NvmlMeter(nvml=FlakyNvml(ok=3))
    with nbmonitor.monitor("flaky", source="torch", sample_every=0.05,
                           meters=[meter]) as run:
        steps = busy_loop(1.0, n=1024)
    assert run.status == "finished"
    assert run.buffer.series("train/loss").count == steps
    assert run.buffer.series("gpu0/util").count == 3
    assert run.buffer.series("gpu0/mem_used").count == 3
    messages = [e.message for e in run.events if e.kind == "meter"]
    assert len(messages) == 1 and messages[0].startswith("gpu0: NVML error, meter off: ")
    assert "lost" in messages[0].lower()


def test_a_gpu_hidden_by_cuda_visible_devices_is_a_note_not_an_error():
    meter = NvmlMeter(visible="99")
    try:
        assert meter.read() == {}
    finally:
        meter.close()
    assert meter.notes == [f"{NO_GPU} in CUDA_VISIBLE_DEVICES='99'"]
