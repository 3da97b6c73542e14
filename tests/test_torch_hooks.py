"""PyTorch capture in-process: real torch, real optimizers, real autograd."""
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import nbmonitor  # noqa: E402

ORIGINAL_BACKWARD = torch.Tensor.__dict__["backward"]


def make(n=256, batch=32, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    ds = torch.utils.data.TensorDataset(torch.randn(n, 8), torch.randn(n, 1))
    return model, torch.utils.data.DataLoader(ds, batch_size=batch)


def test_loss_step_lr_and_epochs_match_the_loop():
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    seen, lrs = [], []
    with nbmonitor.monitor("t", source="for epoch in range(3):\n  for b in loader: pass",
                           namespace={}) as run:
        for epoch in range(3):
            for X, y in loader:
                loss = nn.functional.mse_loss(model(X), y)
                opt.zero_grad()
                loss.backward()
                lrs.append(opt.param_groups[0]["lr"])
                opt.step()
                seen.append(loss.item())
            sched.step()
    assert run.status == "finished"
    steps, values, _ = run.buffer.series("train/loss").arrays()
    assert steps.tolist() == list(range(1, 25)), "one point per optimizer step"
    assert values.tolist() == pytest.approx(seen, rel=1e-6)
    assert run.buffer.series("lr").arrays()[1].tolist() == pytest.approx(lrs)
    assert run.epoch == 3 and run.step == 24
    assert run.total_steps == 24, "epochs from range(3) x len(loader)"
    assert [e.data["epoch"] for e in run.events if e.kind == "epoch"] == [1, 2, 3]
    assert torch.Tensor.__dict__["backward"] is ORIGINAL_BACKWARD


def test_gradient_accumulation_records_the_effective_batch_loss():
    """Micro-losses divided by the micro-step count add up to the effective batch's
    loss (what nanoGPT prints as ``loss.item() * accum``)."""
    model, loader = make(batch=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per_step, micro = [], []
    with nbmonitor.monitor("acc") as run:
        for i, (X, y) in enumerate(loader):
            loss = nn.functional.mse_loss(model(X), y)
            (loss / 4).backward()
            micro.append(loss.item())
            if (i + 1) % 4 == 0:
                opt.step()
                opt.zero_grad()
                per_step.append(sum(micro) / 4)
                micro = []
    _, values, _ = run.buffer.series("train/loss").arrays()
    assert len(values) == len(per_step) == 8
    assert values.tolist() == pytest.approx(per_step, rel=1e-6)


def test_grad_scaler_loss_is_recorded_unscaled():
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    seen = []
    with nbmonitor.monitor("amp") as run:
        for X, y in loader:
            loss = nn.functional.mse_loss(model(X), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            seen.append(loss.item())
    _, values, _ = run.buffer.series("train/loss").arrays()
    assert len(values) == len(seen)
    assert values.tolist() == pytest.approx(seen, rel=1e-6)
    assert max(values) < 100, "not the scaled loss"


def test_param_groups_get_one_lr_series_each():
    model, loader = make()
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                           {"params": model[2].parameters(), "lr": 0.01}])
    with nbmonitor.monitor("groups") as run:
        for X, y in loader:
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            opt.step()
    assert run.buffer.series("lr/group0").last_value == pytest.approx(0.1)
    assert run.buffer.series("lr/group1").last_value == pytest.approx(0.01)


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt()])
def test_hooks_removed_and_exception_unchanged(exc):
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(type(exc)) as info:
        with nbmonitor.monitor("x") as run:
            for i, (X, y) in enumerate(loader):
                opt.zero_grad()
                nn.functional.mse_loss(model(X), y).backward()
                opt.step()
                if i == 3:
                    raise exc
    assert info.value is exc
    assert run.status == ("failed" if isinstance(exc, ValueError) else "interrupted")
    assert run.buffer.series("train/loss").count == 4, "data recorded before the error stays"
    assert torch.Tensor.__dict__["backward"] is ORIGINAL_BACKWARD


def test_stop_request_ends_run_at_step_boundary():
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("stop") as run:
        for i, (X, y) in enumerate(loader):
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            if i == 2:
                run.request_stop()
            opt.step()
    assert run.status == "stopped"
    assert run.step == 3


def test_nan_loss_is_recorded_and_stops_with_stop_on_nan():
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("nan", stop_on_nan=True, refresh_hz=50) as run:
        for epoch in range(200):
            for i, (X, y) in enumerate(loader):
                opt.zero_grad()
                loss = nn.functional.mse_loss(model(X), y)
                if run.step >= 5:
                    loss = loss * float("nan")
                loss.backward()
                opt.step()
    assert run.status == "stopped"
    alerts = [e for e in run.events if e.kind == "alert"]
    loss_alerts = [e for e in alerts if e.data["series"] == "train/loss"]
    assert loss_alerts and "at step 6" in loss_alerts[0].message


def test_explicit_log_and_config():
    with nbmonitor.monitor("api") as run:
        nbmonitor.config(lr=0.1, arch="mlp")
        for i in range(10):
            nbmonitor.log(val=i * 2.0, t=torch.tensor(float(i)))
        nbmonitor.log(step=100, late=1.0)
    assert run.hparams == {"lr": 0.1, "arch": "mlp"}
    assert run.buffer.series("val").arrays()[0].tolist() == list(range(10))
    assert run.buffer.series("t").arrays()[1].tolist() == list(map(float, range(10)))
    assert run.buffer.series("late").arrays()[0].tolist() == [100]
    with pytest.raises(TypeError):
        with nbmonitor.monitor("bad"):
            nbmonitor.log(x="not a number")


def test_subclass_step_calling_super_counts_one_step():
    """torch wraps both the subclass's and the parent's ``step`` once any parent
    instance exists; the nested call is one step. A step whose inner call raised
    is not counted (torch runs no post hook for it) and the next ones still are."""
    model, loader = make()
    torch.optim.SGD(model.parameters(), lr=0.05)  # wraps SGD.step itself

    def planted():
        raise RuntimeError("planted")

    class ClippedSGD(torch.optim.SGD):
        calls = 0

        def step(self, closure=None):
            ClippedSGD.calls += 1
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            return super().step(planted if ClippedSGD.calls == 3 else closure)

    opt = ClippedSGD(model.parameters(), lr=0.05)
    seen = []
    with nbmonitor.monitor("t", source="", namespace={}, meters=False, store=False) as run:
        for X, y in loader:
            loss = nn.functional.mse_loss(model(X), y)
            opt.zero_grad()
            loss.backward()
            try:
                opt.step()
            except RuntimeError:
                continue
            seen.append(loss.item())
    steps, values, _ = run.buffer.series("train/loss").arrays()
    assert run.step == len(seen) == 7
    assert steps.tolist() == list(range(1, 8))
    assert values[:2].tolist() == pytest.approx(seen[:2], rel=1e-6)
    assert values[3:].tolist() == pytest.approx(seen[3:], rel=1e-6)
    # The failed step's norm, read by its pre hook, is dropped: one point a step.
    assert run.buffer.series("grad/norm").arrays()[0].tolist() == list(range(1, 8))
    assert len(run.buffer.series("lr").arrays()[0]) == 7
