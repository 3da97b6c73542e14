"""Real kernels (nbclient) run the DCGAN tutorial's loop, the AMP gradient-accumulation
recipe and a watched loop under ``%%monitor``; recorded values equal the loop's own."""
import base64

import pytest

from .nbutil import display_data, execute, notebook, result, text

pytestmark = pytest.mark.notebook

SETUP = """
import json, torch, nbmonitor
from torch import nn
import torch.optim.optimizer as optmod
torch.manual_seed(0)
def series(name):
    s, v, _ = nbmonitor.last_run().buffer.series(name).arrays()
    return {"steps": s.tolist(), "values": v.tolist()}
def clean():
    return len(optmod._global_optimizer_post_hooks) + len(optmod._global_optimizer_pre_hooks)
"""

GAN_SETUP = """
nz, batch = 8, 32
netG = nn.Sequential(nn.Linear(nz, 32), nn.ReLU(True), nn.Linear(32, 16), nn.Tanh())
netD = nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.2, inplace=True), nn.Linear(32, 1),
                     nn.Sigmoid())
criterion = nn.BCELoss()
optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
dataloader = torch.utils.data.DataLoader(torch.rand(50 * batch, 16) * 2 - 1, batch_size=batch)
real_label, fake_label = 1., 0.
"""

GAN = """%%monitor --name dcgan
G_losses, D_losses = [], []
for epoch in range(1):
    for i, data in enumerate(dataloader, 0):
        netD.zero_grad()
        real_cpu = data
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        noise = torch.randn(b_size, nz)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        G_losses.append(errG.item())
        D_losses.append(errD.item())
"""

CHECK_GAN = """
run = nbmonitor.last_run()
print(json.dumps({"status": run.status, "step": run.step, "names": run.buffer.names(),
                  "D": series("train/loss/optimizerD"), "G": series("train/loss/optimizerG"),
                  "lrD": series("lr/optimizerD"), "D_losses": D_losses, "G_losses": G_losses,
                  "events": [e.message for e in run.events if e.kind == "accumulation"],
                  "hooks": clean()}))
"""

ACC = """%%monitor --name accumulate
model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
scaler = torch.amp.GradScaler("cpu")
accum_steps, effective, micro = 4, [], []
for i in range(40):
    X, y = torch.randn(16, 8), torch.randn(16, 1)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss = nn.functional.mse_loss(model(X).float(), y)
        loss = loss / accum_steps
    scaler.scale(loss).backward()
    micro.append(loss.item())
    if (i + 1) % accum_steps == 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        effective.append(sum(micro))
        micro = []
"""

CHECK_ACC = """
run = nbmonitor.last_run()
print(json.dumps({"status": run.status, "loss": series("train/loss"), "effective": effective,
                  "events": [e.message for e in run.events if e.kind == "accumulation"]}))
"""

WATCH = """%%monitor --name watched --watch --watch-every 5
for i in range(20):
    X, y = torch.randn(16, 8), torch.randn(16, 1)
    optimizer.zero_grad()
    nn.functional.mse_loss(model(X), y).backward()
    optimizer.step()
"""

CHECK_WATCH = """
run = nbmonitor.last_run()
print(json.dumps({"status": run.status, "ratio": series("update_ratio/0"),
                  "norm": series("grad/norm"), "names": run.buffer.names()}))
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = notebook("%load_ext nbmonitor", SETUP, GAN_SETUP, GAN, CHECK_GAN, ACC, CHECK_ACC,
                  WATCH, CHECK_WATCH, "%%monitor --watch sometimes\nran_bad = True",
                  "print(json.dumps({'ran_bad': 'ran_bad' in globals()}))", raises=(9,))
    return execute(nb, tmp_path_factory.mktemp("nb"))


def test_dcgan_loop_records_errD_and_errG_per_optimizer(executed):
    r = result(executed.cells[4])
    assert r["status"] == "finished" and r["step"] == 50
    assert r["D"]["steps"] == list(range(1, 51)) and r["G"]["steps"] == list(range(1, 51))
    assert r["D"]["values"] == pytest.approx(r["D_losses"], rel=1e-6)
    assert r["G"]["values"] == pytest.approx(r["G_losses"], rel=1e-6)
    assert r["lrD"]["values"] == pytest.approx([2e-4] * 50)
    assert "train/loss" not in r["names"] and "lr" not in r["names"]
    assert r["events"] == ["train/loss/optimizerD: sum of 2 losses of one batch per step"]
    assert r["hooks"] == 0


def test_dcgan_snapshot_has_one_loss_chart_for_both(executed):
    (data,) = display_data(executed.cells[3])
    assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "train/loss/optimizerD" in data["text/plain"]
    assert "train/loss/optimizerG" in data["text/plain"]


def test_amp_accumulation_recipe_records_the_effective_batch_loss(executed):
    r = result(executed.cells[6])
    assert r["status"] == "finished"
    assert r["loss"]["steps"] == list(range(1, 11))
    assert r["loss"]["values"] == pytest.approx(r["effective"], rel=1e-5)
    assert r["events"] == ["train/loss: sum of 4 micro-batch losses, each divided by 4 per step"]


def test_watch_records_update_ratios_every_n_steps(executed):
    r = result(executed.cells[8])
    assert r["status"] == "finished"
    assert r["ratio"]["steps"] == [1, 5, 10, 15, 20]
    assert all(0 < v < 1 for v in r["ratio"]["values"])
    assert r["norm"]["steps"] == list(range(1, 21))


def test_bad_watch_value_does_not_run_the_cell(executed):
    out = str(executed.cells[9].outputs)
    assert "usage: %%monitor" in out and "invalid choice: 'sometimes'" in out
    assert result(executed.cells[10]) == {"ran_bad": False}
