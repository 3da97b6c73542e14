"""Background mode in a real kernel (nbclient): the cell returns at once, other
cells run while it trains, ``nbmonitor.wait()`` joins, a second one is refused, a
failure is recorded, and nothing is left installed afterwards."""
import base64

import pytest

from .nbutil import display_data, execute, notebook, result, text

pytestmark = pytest.mark.notebook

SETUP = """
import json, time, sys, torch, nbmonitor
from torch import nn
import torch.optim.optimizer as optmod
ORIG = torch.Tensor.__dict__["backward"]
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
X, Y = torch.randn(64, 8), torch.randn(64, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
def clean():
    return {"backward_original": torch.Tensor.__dict__["backward"] is ORIG,
            "optimizer_hooks": len(optmod._global_optimizer_post_hooks)
                               + len(optmod._global_optimizer_pre_hooks),
            "stdout": type(sys.stdout).__name__,
            "threads": [t.name for t in __import__("threading").enumerate()
                        if t.name.startswith("nbmonitor")]}
"""

TRAIN = """%%monitor --background --name bg --no-meters
t0 = time.time()
while time.time() - t0 < 60:  # stopped by a later cell
    loss = nn.functional.mse_loss(model(X), Y)
    opt.zero_grad(); loss.backward(); opt.step()
    print(f"bg_metric: {loss.item():.4f}")
    time.sleep(0.01)
"""

WHILE = """
run = nbmonitor.current_run()
time.sleep(1.0); s1 = run.step
time.sleep(1.0); s2 = run.step
print("other_metric: 1.5")  # another cell's print: not the run's metric
# a training step in this (main) thread is not the run's either; it trains its own
# model, since touching the worker's model from here would race with its steps
other = nn.Linear(8, 1); other_opt = torch.optim.SGD(other.parameters(), lr=0.1)
loss = nn.functional.mse_loss(other(X), Y); other_opt.zero_grad(); loss.backward(); other_opt.step()
print(json.dumps({"status": run.status, "s1": s1, "s2": s2, "name": run.name}))
"""

SECOND = "%%monitor --background --name second\npass"

STOP = """
run.set_control("lr", 0.001)
time.sleep(0.5)
run.request_stop()
r = nbmonitor.wait()
print(json.dumps({"same": r is run, "status": r.status, "names": r.buffer.names(),
                  "lr": opt.param_groups[0]["lr"],
                  "events": [e.data.get("knob", e.message) for e in r.events if e.kind == "control"],
                  **clean()}))
"""

FAIL = """%%monitor --background --name bgfail --no-meters
for i in range(1000):
    opt.zero_grad(); nn.functional.mse_loss(model(X), Y).backward(); opt.step()
    if i == 4:
        raise ValueError("worker exploded")
"""

WAIT_FAIL = """
r = nbmonitor.wait()
print(json.dumps({"name": r.name, "status": r.status, "error": r.error, "step": r.step,
                  **clean()}))
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = notebook("%load_ext nbmonitor", SETUP, TRAIN, WHILE, SECOND, STOP, FAIL, WAIT_FAIL,
                  raises=(4,))
    return execute(nb, tmp_path_factory.mktemp("bg"), timeout=120)


def test_cell_returns_at_once_and_training_goes_on(executed):
    r = result(executed.cells[3])
    assert r["name"] == "bg" and r["status"] == "running"
    assert r["s2"] > r["s1"] > 0, "steps advance while another cell runs"


def test_second_background_run_is_refused(executed):
    shown = text(executed.cells[4])
    assert "UsageError" in shown and "'bg' is still training" in shown
    assert "nbmonitor.wait()" in shown


def test_wait_joins_stop_and_knob_apply(executed):
    r = result(executed.cells[5])
    assert r["same"] and r["status"] == "stopped"
    assert "bg_metric" in r["names"] and "other_metric" not in r["names"]
    assert r["lr"] == pytest.approx(0.001) and r["events"] == ["lr", "stop requested"]
    assert "run 'bg' stopped" in text(executed.cells[5])
    assert r["backward_original"] and r["optimizer_hooks"] == 0
    assert r["stdout"] == "OutStream" and r["threads"] == []


def test_frozen_snapshot_replaces_the_dashboard_after_the_cell_ended(executed):
    bundles = display_data(executed.cells[2])
    assert len(bundles) == 1
    data = bundles[0]
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "bg" in data["text/plain"] and "stopped" in data["text/plain"]
    assert "control at step" in data["text/plain"]


def test_exception_in_worker_fails_the_run(executed):
    assert not [o for o in executed.cells[6].outputs if o.output_type == "error"]
    r = result(executed.cells[7])
    assert r["name"] == "bgfail" and r["status"] == "failed"
    assert r["error"] == "ValueError: worker exploded" and r["step"] == 5
    assert r["backward_original"] and r["optimizer_hooks"] == 0 and r["threads"] == []
    assert "failed at step 5: ValueError: worker exploded" in text(executed.cells[7])
    assert "worker exploded" in display_data(executed.cells[6])[0]["text/plain"]
