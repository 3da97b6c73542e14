"""--stop-on-nan stops at the step of the NaN, not a refresh later."""
from __future__ import annotations

import math

import pytest

import nbmonitor

QUIET = {"meters": False, "store": False}


def test_a_logged_nan_stops_the_loop_at_its_step():
    steps = []
    with nbmonitor.monitor("nan-log", stop_on_nan=True, **QUIET) as run:
        for step in range(100):
            steps.append(step)
            nbmonitor.log(loss=math.nan if step == 37 else 1.0 / (step + 1), step=step)
    assert run.status == "stopped" and steps[-1] == 37
    assert run.buffer.series("loss").count == 38  # the NaN itself is kept
    assert any(e.data.get("rule") == "stop_on_nan" for e in run.events)


def test_a_nan_loss_stops_torch_training_at_that_optimizer_step():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    seen = []
    with nbmonitor.monitor("nan-torch", stop_on_nan=True, **QUIET) as run:
        for i in range(50):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            if i == 12:
                loss = loss * float("nan")
            opt.zero_grad()
            loss.backward()
            seen.append(i)
            opt.step()
    assert run.status == "stopped" and seen[-1] == 12 and run.step == 13


def test_without_the_option_a_nan_is_only_recorded():
    with nbmonitor.monitor("nan-off", **QUIET) as run:
        for step in range(50):
            nbmonitor.log(loss=math.nan if step == 5 else 1.0, step=step)
    assert run.status == "finished" and run.buffer.series("loss").count == 50
