"""The sampler records meter readings at the training step, and goes away."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from .fake_nvml import FakeNvml
from nbmonitor.meters import NO_GPU, NvmlMeter, Sampler, SystemMeter, sampler_threads
from nbmonitor.run import Run
from nbmonitor.session import Session


def test_series_steps_equal_run_step_at_read_time():
    run, nv = Run(), FakeNvml(2)
    seen: list[int] = []
    nv.on_read = lambda h: seen.append(run.step) if h == 0 else None
    sampler = Sampler(run, [NvmlMeter(nv, visible=None)])
    for step in (0, 3, 3, 17, 250):
        run.step = step
        sampler.sample()
    for name in ("gpu0/util", "gpu1/mem_used", "gpu1/power"):
        steps, _, _ = run.buffer.series(name).arrays()
        assert steps.tolist() == seen == [0, 3, 3, 17, 250]


def test_threaded_sampler_lines_up_with_a_training_loop():
    run, nv = Run(), FakeNvml(1)
    seen: list[int] = []
    nv.on_read = lambda h: seen.append(run.step)
    sampler = Sampler(run, [NvmlMeter(nv, visible=None)], every=0.005).start()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        run.step += 1
        time.sleep(0.0005)
    sampler.stop()
    steps, _, times = run.buffer.series("gpu0/util").arrays()
    assert len(steps) == len(seen) >= 5
    # the step is taken just before the meter reads: equal, or one behind at most
    assert np.all(np.asarray(seen) - steps <= 1) and np.all(np.diff(steps) >= 0)
    assert np.all(np.diff(times) > 0)
    assert sampler_threads() == []


def test_notes_become_one_event_each_and_gpu_loss_never_raises():
    run, nv = Run(), FakeNvml(2)
    sampler = Sampler(run, [NvmlMeter(nv, visible=None),
                            NvmlMeter(FakeNvml(0), visible=None)])
    sampler.sample()
    nv.fail[(1, "util")] = nv.NVMLError_GpuIsLost
    for _ in range(3):
        sampler.sample()
    messages = [e.message for e in run.events if e.kind == "meter"]
    assert messages.count(NO_GPU) == 1
    assert sum(m.startswith("gpu1: NVML error") for m in messages) == 1
    assert run.buffer.series("gpu0/util").count == 4
    assert run.buffer.series("gpu1/util").count == 1


class _Exploding:
    name = "exploding"

    def __init__(self) -> None:
        self.notes: list[str] = []

    def read(self) -> dict[str, float]:
        raise OSError("sensor gone")


def test_a_raising_meter_is_dropped_and_others_go_on():
    run = Run()
    sampler = Sampler(run, [_Exploding(), SystemMeter()])
    sampler.sample()
    time.sleep(0.06)
    sampler.sample()
    assert [e.message for e in run.events] == ["exploding meter off: OSError: sensor gone"]
    assert run.buffer.series("proc/rss").count == 2 and len(sampler.meters) == 1


def test_bad_interval_is_refused():
    with pytest.raises(ValueError):
        Sampler(Run(), [], every=0)
    with pytest.raises(ValueError):
        Session(frontend="text", sample_every=-1)


def _train(run: Run, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        run.log("loss", 1.0 / (run.step + 1))
        run.step += 1
        time.sleep(0.001)


def test_session_records_meters_and_joins_the_sampler(capsys):
    nv = FakeNvml(2)
    with Session("m", frontend="text", print_capture=False, sample_every=0.02,
                 meters=[NvmlMeter(nv, visible=None), SystemMeter()]) as run:
        assert len(sampler_threads()) == 1
        _train(run, 0.25)
    assert sampler_threads() == []  # joined in teardown, not merely asked to stop
    assert nv.shutdown == 1
    steps, _, _ = run.buffer.series("gpu1/util").arrays()
    assert len(steps) >= 3 and steps[-1] > steps[0]
    assert "proc/rss" in run.buffer
    out = capsys.readouterr().err
    assert "gpu0:" in out and "system:" in out  # meters in the final summary


def test_session_without_meters_records_none():
    with Session("n", frontend="text", print_capture=False, meters=False) as run:
        assert sampler_threads() == []
        _train(run, 0.05)
    assert not [n for n in run.buffer.names() if n.startswith(("gpu", "sys/", "proc/"))]


def test_sampler_stops_when_the_block_raises():
    with pytest.raises(ZeroDivisionError):
        with Session("e", frontend="text", print_capture=False, sample_every=0.01):
            assert sampler_threads()
            1 / 0
    assert sampler_threads() == []


def test_stop_from_another_thread_is_safe():
    sampler = Sampler(Run(), [SystemMeter()], every=10).start()
    t = threading.Thread(target=sampler.stop)
    t.start()
    t.join(2)
    assert not t.is_alive() and sampler_threads() == []
