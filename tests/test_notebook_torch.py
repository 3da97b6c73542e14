"""A real kernel (nbclient) runs real PyTorch loops under ``%%monitor``."""
import base64

import pytest

from .nbutil import display_data, execute, notebook, result, text

pytestmark = pytest.mark.notebook

SETUP = """
import json, torch, nbmonitor
from torch import nn
import torch.optim.optimizer as optmod
ORIG = torch.Tensor.__dict__["backward"]
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
ds = torch.utils.data.TensorDataset(torch.randn(512, 8), torch.randn(512, 1))
loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
def clean():
    return {"backward_original": torch.Tensor.__dict__["backward"] is ORIG,
            "optimizer_hooks": len(optmod._global_optimizer_post_hooks) + len(optmod._global_optimizer_pre_hooks),
            "stdout": type(__import__("sys").stdout).__name__}
"""

TRAIN = """%%monitor --name nb-train
losses = []
for epoch in range(3):
    for X, y in loader:
        loss = nn.functional.mse_loss(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"epoch {epoch + 1}: val_loss: {losses[-1] * 1.1:.5f} shape (32, 8)")
"""

CHECK_TRAIN = """
run = nbmonitor.last_run()
steps, values, _ = run.buffer.series("train/loss").arrays()
print(json.dumps({"status": run.status, "steps": steps.tolist(), "values": values.tolist(),
                  "losses": losses, "val": run.buffer.series("val_loss").arrays()[1].tolist(),
                  "names": run.buffer.names(), "total": run.total_steps, **clean()}))
"""

FAIL = """%%monitor --name nb-fail
for i, (X, y) in enumerate(loader):
    opt.zero_grad(); nn.functional.mse_loss(model(X), y).backward(); opt.step()
    if i == 4:
        raise RuntimeError("exploded at 4")
"""

INTERRUPT = """%%monitor --name nb-interrupt
import time
t0 = time.time()
while time.time() - t0 < 60:  # the test interrupts it after a few seconds
    for X, y in loader:
        opt.zero_grad(); nn.functional.mse_loss(model(X), y).backward(); opt.step()
        time.sleep(0.01)
"""

CHECK_RUN = """
run = nbmonitor.last_run()
print(json.dumps({"name": run.name, "status": run.status, "error": run.error,
                  "points": run.buffer.series("train/loss").count, "step": run.step, **clean()}))
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = notebook("%load_ext nbmonitor", SETUP, TRAIN, CHECK_TRAIN, FAIL, CHECK_RUN,
                  INTERRUPT, CHECK_RUN, "%%monitor --bogus-option\nran_bad = True",
                  "print(json.dumps({'ran_bad': 'ran_bad' in globals()}))",
                  raises=(4, 6, 8))
    return execute(nb, tmp_path_factory.mktemp("nb"), interrupt={6: 6.0})


def test_loss_series_has_one_point_per_step_equal_to_the_loop(executed):
    r = result(executed.cells[3])
    assert r["status"] == "finished"
    assert r["steps"] == list(range(1, 49))
    assert r["values"] == pytest.approx(r["losses"], rel=1e-6)
    assert r["total"] == 48, "3 epochs x 16 batches, read from range(3) and the loader"


def test_printed_metrics_captured_and_text_unchanged(executed):
    r = result(executed.cells[3])
    assert len(r["val"]) == 3
    assert r["val"][-1] == pytest.approx(r["losses"][-1] * 1.1, rel=1e-3)
    assert "shape" not in r["names"] and "epoch" not in r["names"]
    printed = text(executed.cells[2])
    assert printed.count("val_loss:") == 3 and "shape (32, 8)" in printed


def test_frozen_snapshot_replaces_live_output(executed):
    bundles = display_data(executed.cells[2])
    assert len(bundles) == 1
    data = bundles[0]
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "nb-train" in data["text/plain"] and "finished" in data["text/plain"]
    assert "train/loss" in data["text/plain"]


def test_hooks_gone_after_success(executed):
    r = result(executed.cells[3])
    assert r["backward_original"] and r["optimizer_hooks"] == 0 and r["stdout"] == "OutStream"


def test_exception_fails_run_and_is_reraised(executed):
    err = [o for o in executed.cells[4].outputs if o.output_type == "error"]
    assert err and err[0]["ename"] == "RuntimeError" and err[0]["evalue"] == "exploded at 4"
    r = result(executed.cells[5])
    assert r["status"] == "failed" and r["points"] == 5
    assert r["backward_original"] and r["optimizer_hooks"] == 0 and r["stdout"] == "OutStream"
    assert "failed" in display_data(executed.cells[4])[0]["text/plain"]


def test_keyboard_interrupt_marks_run_interrupted(executed):
    err = [o for o in executed.cells[6].outputs if o.output_type == "error"]
    assert err and err[0]["ename"] == "KeyboardInterrupt"
    r = result(executed.cells[7])
    assert r["name"] == "nb-interrupt" and r["status"] == "interrupted"
    assert r["points"] > 10 and r["points"] == r["step"]
    assert r["backward_original"] and r["optimizer_hooks"] == 0 and r["stdout"] == "OutStream"
    assert "interrupted" in display_data(executed.cells[6])[0]["text/plain"]


def test_bad_argument_does_not_run_cell(executed):
    shown = text(executed.cells[8])  # IPython prints usage errors, no traceback
    assert "UsageError: unrecognized arguments: --bogus-option" in shown
    assert "usage: %%monitor" in shown
    assert result(executed.cells[9]) == {"ran_bad": False}
