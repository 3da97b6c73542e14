"""Knobs, pause and stop on real torch optimizers: a change waits for the next step
boundary, keeps per-group ratios, moves schedulers along, and is recorded."""
from __future__ import annotations

import threading
import time

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import nbmonitor  # noqa: E402
from nbmonitor.knobs import apply_torch, torch_knobs  # noqa: E402
from nbmonitor.snapshot import control_steps, summary_text  # noqa: E402

pytestmark = pytest.mark.framework


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("NBMONITOR_STORE", str(tmp_path / "runs.db"))
    return tmp_path / "runs.db"


def model_and_data(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return model, torch.randn(64, 4), torch.randn(64, 1)


def step(model, opt, X, Y):
    loss = nn.functional.mse_loss(model(X), Y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def two_groups(model, **kw):
    return [{"params": model[0].parameters(), "lr": 0.1, **kw},
            {"params": model[2].parameters(), "lr": 0.01}]


def test_lr_change_waits_for_the_step_boundary_and_keeps_group_ratios():
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(two_groups(model), lr=0.1, momentum=0.9)
    lrs = []
    with nbmonitor.monitor("knob", print_capture=False, meters=False) as run:
        for i in range(10):
            if i == 5:
                assert run.knobs == {"lr": 0.1, "weight_decay": 0.0, "momentum": 0.9}
                assert run.set_control("lr", 0.02)
                assert opt.param_groups[0]["lr"] == 0.1, "applied by the hook, not now"
            step(model, opt, X, Y)
            lrs.append([g["lr"] for g in opt.param_groups])
    assert lrs[4] == [0.1, 0.01]
    assert lrs[5] == pytest.approx([0.02, 0.002]), "ratio 10:1 kept"
    ev = [e for e in run.events if e.kind == "control" and "knob" in e.data]
    assert len(ev) == 1 and ev[0].step == 5 and ev[0].data["at"] == 5
    assert ev[0].data["old"] == pytest.approx(0.1) and ev[0].data["new"] == pytest.approx(0.02)
    assert run.hparams_history == [pytest.approx(
        {"step": 5, "time": ev[0].time, "name": "lr", "old": 0.1, "new": 0.02})]
    steps, values, _ = run.buffer.series("lr/group0").arrays()
    assert values[4] == pytest.approx(0.1) and values[5] == pytest.approx(0.02)
    assert control_steps(run) == [5.0]
    assert "control at step 5: lr 0.1 -> 0.02" in summary_text(run)


def test_scheduler_goes_on_from_the_new_scale():
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    with nbmonitor.monitor("sched", print_capture=False, meters=False) as run:
        for epoch in range(6):
            if epoch == 3:
                run.set_control("lr", opt.param_groups[0]["lr"] * 10)
            step(model, opt, X, Y)
            lrs.append(opt.param_groups[0]["lr"])
            sched.step()
    # epochs 0-2 as scheduled (0.1, 0.1, 0.05); x10 from epoch 3 on, schedule kept.
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.5, 0.25, 0.25])
    assert sched.base_lrs == pytest.approx([1.0])
    assert sched.get_last_lr() == pytest.approx([0.125])


def test_cosine_closed_form_keeps_the_scale():
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    ref = [0.1 * (1 + __import__("math").cos(__import__("math").pi * t / 10)) / 2
           for t in range(10)]
    with nbmonitor.monitor("cos", print_capture=False, meters=False) as run:
        for t in range(10):
            if t == 4:
                run.set_control("lr", opt.param_groups[0]["lr"] / 2)
            step(model, opt, X, Y)
            if t >= 4:
                assert opt.param_groups[0]["lr"] == pytest.approx(ref[t] / 2, rel=1e-6)
            sched.step()


def test_adam_beta1_weight_decay_and_momentum_knobs():
    model, X, Y = model_and_data()
    opt = torch.optim.AdamW(two_groups(model, weight_decay=0.1), lr=1e-3)
    opt.param_groups[1]["weight_decay"] = 0.0
    assert torch_knobs(opt) == {"lr": 0.1, "weight_decay": 0.1, "beta1": 0.9}
    assert apply_torch(opt, "weight_decay", 0.05) == pytest.approx((0.1, 0.05))
    assert [g["weight_decay"] for g in opt.param_groups] == pytest.approx([0.05, 0.0])
    apply_torch(opt, "beta1", 0.5)
    assert [g["betas"] for g in opt.param_groups] == [(0.5, 0.999), (0.5, 0.999)]
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    apply_torch(sgd, "momentum", 0.5)
    assert sgd.param_groups[0]["momentum"] == 0.5
    with pytest.raises(KeyError):
        apply_torch(sgd, "beta1", 0.5)


def test_pause_holds_the_training_thread_and_stop_ends_the_run():
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    steps_seen = []
    with nbmonitor.monitor("pause", print_capture=False, meters=False) as run:
        def drive():
            while run.step < 3:
                time.sleep(0.01)
            run.pause()
            time.sleep(0.3)
            steps_seen.append(run.step)
            time.sleep(0.3)
            steps_seen.append(run.step)
            run.set_control("lr", 0.05)  # while paused: applied on resume
            run.resume()
            while run.step < 8:
                time.sleep(0.01)
            run.request_stop()
        t = threading.Thread(target=drive)
        t.start()
        for _ in range(100_000):
            step(model, opt, X, Y)
    t.join()
    assert steps_seen[0] == steps_seen[1], "no step while paused"
    assert run.status == "stopped" and run.step < 100
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    assert [e.message for e in run.events if e.kind == "control"][:2] == ["paused", "resumed"]


def test_controls_after_the_end_are_ignored():
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("late", print_capture=False, meters=False) as run:
        step(model, opt, X, Y)
    n = len(run.events)
    run.request_stop()
    run.pause()
    assert not run.set_control("lr", 1.0)
    assert run.status == "finished" and not run.paused and len(run.events) == n


def test_control_events_persist_in_the_store(db):
    model, X, Y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("stored", print_capture=False, meters=False) as run:
        for i in range(4):
            if i == 2:
                run.set_control("lr", 0.001)
            step(model, opt, X, Y)
    ev = nbmonitor.load(run.id).events()
    ctl = ev[ev.kind == "control"]
    assert len(ctl) == 1 and ctl.iloc[0].step == 2
    data = ctl.iloc[0].data
    data = data if isinstance(data, dict) else __import__("json").loads(data)
    assert data["knob"] == "lr" and data["new"] == pytest.approx(0.001)
