"""Gradient norms, weight norms and update ratios from the torch step hooks: values
against the loop's own numbers, NaN gradients named, nothing left behind."""
import gc
import linecache
import traceback
import tracemalloc
import warnings
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import nbmonitor  # noqa: E402


def model_and_data(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(OrderedDict(
        encoder=nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16)),
        act=nn.Tanh(), head=nn.Linear(16, 1)))
    data = [(torch.randn(16, 8), torch.randn(16, 1)) for _ in range(24)]
    return model, data


def values(run, name):
    return run.buffer.series(name).arrays()[1].tolist()


@pytest.mark.parametrize("scaler", [False, True], ids=["plain", "gradscaler"])
def test_grad_norm_equals_clip_grad_norm_at_every_step(scaler):
    model, data = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    grad_scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12) if scaler else None
    clipped = []
    with nbmonitor.monitor("norm") as run:
        for X, y in data:
            loss = nn.functional.mse_loss(model(X), y)
            opt.zero_grad()
            if grad_scaler is None:
                loss.backward()
                clipped.append(float(nn.utils.clip_grad_norm_(model.parameters(), float("inf"))))
                opt.step()
            else:
                grad_scaler.scale(loss).backward()
                grad_scaler.unscale_(opt)
                clipped.append(float(nn.utils.clip_grad_norm_(model.parameters(), float("inf"))))
                grad_scaler.step(opt)
                grad_scaler.update()
    assert run.buffer.series("grad/norm").arrays()[0].tolist() == list(range(1, 25))
    assert values(run, "grad/norm") == pytest.approx(clipped, rel=1e-5)
    if scaler:
        assert max(clipped) < 100, "unscaled gradients"


def test_grad_norm_with_accumulation_one_value_per_step():
    model, data = model_and_data(1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    clipped = []
    with nbmonitor.monitor("acc") as run:
        for i, (X, y) in enumerate(data):
            (nn.functional.mse_loss(model(X), y) / 3).backward()
            if (i + 1) % 3 == 0:
                clipped.append(float(nn.utils.clip_grad_norm_(model.parameters(), 1e9)))
                opt.step()
                opt.zero_grad()
    assert len(values(run, "grad/norm")) == 8
    assert values(run, "grad/norm") == pytest.approx(clipped, rel=1e-5)


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda p: torch.optim.Adam(p, lr=1e-2)], ids=["sgd", "adam"])
def test_update_ratios_and_norms_per_layer_equal_a_hand_computation(make_opt):
    model, data = model_and_data(2)
    opt = make_opt(model.parameters())
    layers = {"encoder.0": model.encoder[0], "encoder.2": model.encoder[2], "head": model.head}
    expected = {name: [] for name in layers}
    with nbmonitor.monitor("watch", watch=True, watch_every=5) as run:
        for step, (X, y) in enumerate(data, 1):
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            before = {n: [p.detach().clone() for p in m.parameters()] for n, m in layers.items()}
            grads = {n: [p.grad.clone() for p in m.parameters()] for n, m in layers.items()}
            opt.step()
            if step == 1 or step % 5 == 0:
                for n, m in layers.items():
                    w = torch.cat([b.flatten() for b in before[n]]).norm().item()
                    d = torch.cat([(p.detach() - b).flatten()
                                   for p, b in zip(m.parameters(), before[n])]).norm().item()
                    g = torch.cat([g.flatten() for g in grads[n]]).norm().item()
                    expected[n].append((g, w, d / w))
    for n in layers:
        steps = run.buffer.series(f"update_ratio/{n}").arrays()[0].tolist()
        assert steps == [1, 5, 10, 15, 20], "watched steps only"
        got = list(zip(values(run, f"grad/norm/{n}"), values(run, f"weight/norm/{n}"),
                       values(run, f"update_ratio/{n}")))
        assert got == [pytest.approx(e, rel=1e-5) for e in expected[n]]
    assert not any(name.startswith("update_ratio/act") for name in run.buffer.names())


def test_planted_nan_gradient_is_reported_with_the_layer_and_step():
    model, data = model_and_data(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("nan", refresh_hz=50) as run:
        for step, (X, y) in enumerate(data, 1):
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            if step == 7:
                model.encoder[2].weight.grad[3, 1] = float("nan")
            opt.step()
            if step == 7:
                break
    alerts = [e for e in run.events if e.kind == "alert" and e.data["series"] == "grad/norm"]
    assert len(alerts) == 1
    assert alerts[0].step == 7
    assert "first in encoder.2.weight" in alerts[0].message
    assert "at step 7" in alerts[0].message


def test_a_detached_graph_raises_the_zero_gradient_alert():
    model, data = model_and_data(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    bias = torch.zeros(1, requires_grad=True)  # not the optimizer's: the graph is cut
    with nbmonitor.monitor("detached", refresh_hz=50) as run:
        for step in range(60):
            X, y = data[step % len(data)]
            loss = nn.functional.mse_loss(model(X).detach() + bias, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert values(run, "grad/norm") == [0.0] * 60
    (alert,) = [e for e in run.events if e.kind == "alert"]
    assert alert.data["rule"] == "grad/norm <= 0 for 50 steps" and alert.step == 51


def test_a_dead_layer_raises_the_dead_layer_alert_with_watch():
    model, data = model_and_data(5)
    with torch.no_grad():  # every ReLU unit of the encoder off: nothing reaches encoder.0
        model.encoder[0].bias.fill_(-1e3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("dead", refresh_hz=50, watch=True, watch_every=25) as run:
        for step in range(230):
            X, y = data[step % len(data)]
            loss = nn.functional.mse_loss(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert set(values(run, "grad/norm/encoder.0")) == {0.0}
    assert min(values(run, "grad/norm/head")) > 0
    alerts = [e for e in run.events if e.kind == "alert"]
    assert [(a.data["rule"], a.data["series"], a.step) for a in alerts] == [
        ("grad/norm/* <= 0 for 200 steps", "grad/norm/encoder.0", 225)]


def test_a_step_that_raises_records_no_gradient_statistics():
    class Flaky(torch.optim.SGD):
        def step(self, closure=None):
            if self.calls in (3, 7):
                self.calls += 1
                raise RuntimeError("flaky step")
            self.calls += 1
            return super().step(closure)

    model, data = model_and_data(4)
    opt = Flaky(model.parameters(), lr=0.05)
    opt.calls = 0
    clipped, failed = [], 0
    with nbmonitor.monitor("flaky", watch=True, watch_every=2) as run:
        for X, y in data[:12]:
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
            try:
                opt.step()
            except RuntimeError:
                failed += 1
                continue
            clipped.append(norm)
    assert failed == 2
    steps = run.buffer.series("grad/norm").arrays()[0].tolist()
    assert steps == list(range(1, 11)), "one point per step that went through"
    assert values(run, "grad/norm") == pytest.approx(clipped, rel=1e-5)
    ratios = run.buffer.series("update_ratio/encoder.0").arrays()[0].tolist()
    assert ratios == [1, 2, 4, 6, 8, 10]
    assert all(0 < v < 1 for v in values(run, "update_ratio/encoder.0"))


def test_watch_off_records_no_gradient_statistics():
    model, data = model_and_data(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("off", watch="off") as run:
        for X, y in data[:5]:
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            opt.step()
    assert "train/loss" in run.buffer
    assert not [n for n in run.buffer.names() if n.startswith(("grad/", "weight/", "update"))]


def test_bad_watch_options_are_one_clear_error():
    with pytest.raises(ValueError, match="watch_every must be at least 1"):
        nbmonitor.monitor("x", watch=True, watch_every=0)
    with pytest.raises(ValueError, match="watch must be on or off"):
        nbmonitor.monitor("x", watch="sometimes")


def _train(steps=30):
    model, data = model_and_data(6)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with nbmonitor.monitor("mem", watch=True, watch_every=2, meters=False, store=False) as run:
        for X, y in data[:steps]:
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            opt.step()
            session = nbmonitor.session.active_session()
            # the torch handle (other frameworks' hooks, once imported, hold a state too)
            watch = [h.state.watch for h in session._handles
                     if hasattr(getattr(h, "state", None), "watch")][0]
            assert watch._before is None and watch._stats is None, "freed after each step"
    return run


def test_hooks_and_temporary_tensors_are_gone_after_the_cell():
    def live_tensors():
        gc.collect()
        with warnings.catch_warnings():  # isinstance on deprecated torch aliases warns
            warnings.simplefilter("ignore")
            return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))

    _train()  # warm up: lazy imports, caches
    baseline = live_tensors()
    tracemalloc.start()
    try:
        first = tracemalloc.take_snapshot()
        for _ in range(3):
            run = _train()
            del run
        gc.collect()
        # linecache fills once as frames are first looked at (an interpreter cache)
        caches = [tracemalloc.Filter(False, linecache.__file__),
                  tracemalloc.Filter(False, traceback.__file__)]
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().filter_traces(caches)
                    .compare_to(first.filter_traces(caches), "filename"))
    finally:
        tracemalloc.stop()
    assert live_tensors() <= baseline
    # Three runs' buffers are let go; what stays is interpreter caches, not tensors.
    assert grown < 200_000
    import torch.optim.optimizer as o
    assert not o._global_optimizer_pre_hooks and not o._global_optimizer_post_hooks


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_grad_norm_and_watch_add_no_synchronization():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X = torch.randn(64, 784, device="cuda")
    y = torch.randint(0, 10, (64,), device="cuda")
    norms = []
    before = torch.cuda.memory_allocated()
    with nbmonitor.monitor("cuda", source="torch", watch=True, watch_every=10) as run:
        torch.cuda.set_sync_debug_mode("error")
        try:
            for step in range(200):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(X), y).backward()
                if step == 150:
                    model[2].weight.grad[0, 0] = float("nan")
                norms.append(torch.nn.utils.get_total_norm(
                    [p.grad for p in model.parameters()]))
                opt.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    got = values(run, "grad/norm")
    assert len(got) == 200
    want = torch.stack(norms).cpu().tolist()
    assert got[:150] == pytest.approx(want[:150], rel=1e-5)
    assert len(values(run, "update_ratio/0")) == 20
    assert any("first in 2.weight" in e.message for e in run.events if e.kind == "context")
    del run
    gc.collect()
    assert torch.cuda.memory_allocated() <= before + 4096


def test_mixed_dtypes_group_by_dtype_and_keep_parameter_names():
    torch.manual_seed(8)
    model = nn.Sequential(OrderedDict(a=nn.Linear(6, 8), b=nn.Linear(8, 4), c=nn.Linear(4, 1)))
    model.b.to(torch.float64)  # a second (device, dtype) group in the middle
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    want, ratios = [], []
    with nbmonitor.monitor("dtypes", watch=True, watch_every=1) as run:
        for step in range(1, 4):
            x = torch.randn(5, 6)
            out = model.c(model.b(model.a(x).double()).float())
            opt.zero_grad()
            out.pow(2).mean().backward()
            if step == 3:
                model.c.weight.grad[0, 0] = float("nan")
            want.append(torch.cat([p.grad.double().flatten() for p in model.parameters()])
                        .norm().item())
            before = [p.detach().clone() for p in model.b.parameters()]
            opt.step()
            d = torch.cat([(p.detach() - q).flatten() for p, q in zip(model.b.parameters(), before)])
            ratios.append((d.norm() / torch.cat([q.flatten() for q in before]).norm()).item())
    got = values(run, "grad/norm")
    assert got[:2] == pytest.approx(want[:2], rel=1e-5)
    assert values(run, "update_ratio/b")[:2] == pytest.approx(ratios[:2], rel=1e-5)
    assert any("first in c.weight" in e.message for e in run.events if e.kind == "context")


def test_gradient_statistics_are_stored_like_any_series(tmp_path):
    from nbmonitor.store.history import load
    model, data = model_and_data(9)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    db = tmp_path / "runs.db"
    with nbmonitor.monitor("stored", watch=True, watch_every=4, store=db, meters=False) as run:
        for X, y in data[:12]:
            opt.zero_grad()
            nn.functional.mse_loss(model(X), y).backward()
            opt.step()
    stored = load(run.id, store=db)
    df = stored.series("grad/norm")
    assert df["value"].tolist() == pytest.approx(values(run, "grad/norm"))
    assert stored.series("update_ratio/head")["value"].tolist() == pytest.approx(
        values(run, "update_ratio/head"))
