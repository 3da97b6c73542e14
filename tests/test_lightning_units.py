"""Lightning capture pieces without Lightning: which logged values are new and under
which name, which printed lines are Lightning's, and patch/restore of a fake package."""
from __future__ import annotations

import sys
import types

import pytest

torch = pytest.importorskip("torch")

from nbmonitor.hooks import lightning_hooks  # noqa: E402
from nbmonitor.hooks.lightning_callback import FreshMetrics, callback_class  # noqa: E402
from nbmonitor.run import Run  # noqa: E402

pytestmark = pytest.mark.framework


def test_fresh_values_by_storage_not_by_object():
    fresh = FreshMetrics()
    a, b = torch.tensor(1.0), torch.tensor(2.0)
    assert fresh.take({"a": a.detach(), "b": b}) == [("a", a), ("b", b)]
    # Lightning returns a new detach() on every read: same storage, not new.
    assert fresh.take({"a": a.detach(), "b": b.detach()}) == []
    c = a.clone()  # logged again, same value: new
    assert [k for k, _ in fresh.take({"a": c, "b": b})] == ["a"]


def test_step_and_epoch_twins_get_one_name():
    fresh = FreshMetrics()
    step = torch.tensor(0.5)
    assert [k for k, _ in fresh.take({"mae": step, "mae_step": step.detach()})] == ["mae"]
    mean = torch.tensor(0.4)
    got = fresh.take({"mae": mean, "mae_epoch": mean.detach(), "mae_step": step})
    assert [k for k, _ in got] == ["mae_epoch"], "training: x is per step, the mean x_epoch"
    val = torch.tensor(0.3)
    got = fresh.take({"val_mae": val, "val_mae_epoch": val.detach()}, validating=True)
    assert [k for k, _ in got] == ["val_mae"], "validation: one point per run, named x"
    other = torch.tensor(0.2)  # a metric really named like a twin, different value
    assert len(fresh.take({"x": other, "x_step": torch.tensor(0.1)})) == 2


@pytest.mark.parametrize("line", [
    "Total params: 5                                                   ",
    "Trainable params: 1.2 K",
    "Total estimated model params size (MB): 0.000",
    "Modules in train mode: 1",
    "Epoch 1/1  ━━━━━━━━━━━━━━━━━━━━ 3/3 0:00:00 • 0:00:00 27.68it/s train_loss: 1.109",
    "\x1b[37mEpoch 0/1\x1b[0m ━━━━━━━ 2/8 0:00:01 v_num: 0 val_loss: 0.5",
    "Validation ━━━━━━━━━━━━━━━ 2/2 0:00:00 • 0:00:00 90.00it/s",
    "Epoch 0: 100%|██████████| 8/8 [00:00<00:00, 90.1it/s, train_loss=0.41]",
])
def test_lightning_text_is_recognized(line):
    assert lightning_hooks.is_lightning_line(line)


@pytest.mark.parametrize("line", ["epoch: 3 loss: 0.5", "Epoch 3 loss: 0.25",
                                  "total: 5", "val_loss: 0.3"])
def test_user_text_is_not(line):
    assert not lightning_hooks.is_lightning_line(line)


def _fake_package() -> types.ModuleType:
    pkg = types.ModuleType("pytorch_lightning")

    class Callback:
        pass

    class Trainer:
        def __init__(self):
            self.callbacks = []
            self.during = None

        def fit(self, model=None):
            self.during = [type(c).__name__ for c in self.callbacks]
            self.stop_owner = run_ref[0].stop_owner
            return "fitted"

    run_ref: list = []
    pkg.Callback, pkg.Trainer, pkg.run_ref = Callback, Trainer, run_ref
    return pkg


def test_fit_gets_the_callback_only_while_it_runs(monkeypatch):
    pkg = _fake_package()
    monkeypatch.setitem(sys.modules, "pytorch_lightning", pkg)
    original = pkg.Trainer.__dict__["fit"]
    run = Run("t")
    pkg.run_ref.append(run)
    handle = lightning_hooks.install(run)
    watchers = list(handle._watchers)
    try:
        assert handle.patched == {"pytorch_lightning"}
        trainer = pkg.Trainer()
        assert trainer.fit() == "fitted"
        assert trainer.during == ["NbmonitorCallback"] and trainer.stop_owner == "lightning"
        assert trainer.callbacks == [] and run.stop_owner is None
        assert issubclass(callback_class(pkg.Callback), pkg.Callback)
    finally:
        handle.remove()
    assert pkg.Trainer.__dict__["fit"] is original
    assert not any(w in sys.meta_path for w in watchers)
    assert not handle.ignore_line("Total params: 5"), "only while fit runs"


def test_not_imported_means_watchers_only(monkeypatch):
    for name in lightning_hooks.PACKAGES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    handle = lightning_hooks.install(Run("t"))
    watchers = list(handle._watchers)
    try:
        assert not handle.patched and len(watchers) == 2
        assert all(w in sys.meta_path for w in handle._watchers)
        assert not any(name in sys.modules for name in lightning_hooks.PACKAGES)
    finally:
        handle.remove()
    assert not any(w in sys.meta_path for w in watchers)
