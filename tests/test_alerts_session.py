"""Alerts in real runs: torch loops, the fake NVML meter, the store, the magic, Keras."""
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbmonitor
from nbmonitor.meters import NvmlMeter
from nbmonitor.session import Session, active_session
from nbmonitor.snapshot import summary_text

from .fake_nvml import GIB, FakeNvml

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

QUIET = dict(print_capture=False, meters=False, refresh_hz=1e-3, store=False)


def make(n=64, batch=8, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    ds = torch.utils.data.TensorDataset(torch.randn(n, 8), torch.randn(n, 1))
    return model, torch.utils.data.DataLoader(ds, batch_size=batch)


def alerts(run):
    return [e for e in run.events if e.kind == "alert"]


def test_nan_injected_at_a_known_step_is_reported_with_that_step():
    model, loader = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with nbmonitor.monitor("nan-at-13", **QUIET) as run:
        for epoch in range(3):
            for X, y in loader:
                loss = nn.functional.mse_loss(model(X), y)
                if run.step == 12:  # the 13th optimizer step
                    loss = loss * float("nan")
                opt.zero_grad()
                loss.backward()
                opt.step()
    assert run.status == "finished", "without stop_on_nan the run goes on"
    # The NaN loss makes NaN gradients too: both are reported, at the same step.
    a, g = sorted(alerts(run), key=lambda e: e.data["series"], reverse=True)
    assert a.step == 13 and a.message == "train/loss is nan at step 13"
    assert g.step == 13 and g.message.startswith("grad/norm is nan at step 13")
    assert "alerts (2):" in summary_text(run) and "step 13: train/loss is nan" in summary_text(run)


def test_plateau_halves_the_learning_rate_inside_the_torch_optimizer():
    model, loader = make()  # 8 steps per epoch
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    val = [1.0, 0.8, 0.7, 0.7, 0.71, 0.72, 0.69, 0.7]
    with nbmonitor.monitor("plateau", alerts=["plateau val_loss 3 epochs -> lr*0.5"],
                           **QUIET) as run:
        session = active_session()
        for v in val:
            for X, y in loader:
                opt.zero_grad()
                nn.functional.mse_loss(model(X), y).backward()
                opt.step()
            nbmonitor.log(val_loss=v)
            session.refresh()  # what the refresher thread does, at a known moment
    (a,) = alerts(run)
    assert a.step == 48 and a.data["series"] == "val_loss"  # end of epoch 6
    assert "-> lr*0.5" in a.message
    steps, lrs, _ = run.buffer.series("lr").arrays()
    assert set(lrs[steps <= 48]) == {0.1} and set(lrs[steps > 48]) == {0.05}
    assert opt.param_groups[0]["lr"] == 0.05
    (act,) = [e for e in run.events if e.kind == "action"]
    assert act.step == 48 and "lr x0.5: 0.1 -> 0.05" in act.message


def test_gpu_memory_over_95_percent_with_the_fake_nvml_meter():
    nv = FakeNvml(2)
    nv.gpus[1].used = 0.97 * nv.gpus[1].total
    with Session("gpu", frontend="text", print_capture=False, store=False, refresh_hz=1e-3,
                 sample_every=1000, meters=[NvmlMeter(nv, visible=None)]) as run:
        session = active_session()
        session._sampler.sample()
        session.refresh()
    (a,) = alerts(run)
    assert a.data["series"] == "gpu1/mem_pct" and a.data["value"] == pytest.approx(97)
    assert "gpu1/mem_pct = 97 > 95" in a.message


def test_user_functions_get_alerts_and_a_raising_one_is_disabled():
    got = []

    @nbmonitor.on_alert
    def broken(alert):
        raise KeyError("nope")

    try:
        nbmonitor.alert("x > 2", action=got.append)
        with nbmonitor.monitor("fn", **QUIET) as run:
            for i in range(6):
                nbmonitor.log(x=i)
                active_session().refresh()
    finally:
        nbmonitor.clear_alerts()
    assert run.status == "finished"
    assert [(a.series, a.step, a.value) for a in got] == [("x", 3, 3.0)]
    (err,) = [e for e in run.events if e.kind == "alert_error"]
    assert "broken disabled: KeyError" in err.message


def test_events_persist_in_the_store_and_load_back(tmp_path):
    db = tmp_path / "runs.db"
    with Session("stored", print_capture=False, meters=False, store=str(db),
                 alerts=["x > 2 -> stop"], refresh_hz=1e-3) as run:
        for i in range(5):
            nbmonitor.log(x=i)
        active_session().refresh()
        run.event("control", "paused")  # appended during the run too
    df = nbmonitor.load(run.id, store=str(db)).events()
    assert list(df.columns[:4]) == ["kind", "message", "step", "time"]
    rows = df[df.kind == "alert"]
    assert rows.message.tolist() == ["x = 3 > 2 at step 3 -> stop"]
    assert rows.step.tolist() == [3.0]
    assert json.loads(rows.data.iloc[0])["series"] == "x"
    assert {"alert", "control"} <= set(df.kind)


def test_a_bad_rule_fails_before_the_run():
    with pytest.raises(ValueError, match="bad alert rule"):
        Session("bad", alerts=["val/loss >> 2"])
    assert active_session() is None


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext nbmonitor", store_history=False)
    yield sh


def test_magic_alert_option(shell):
    res = shell.run_cell('%%monitor --name al --no-meters --store off '
                         '--alert "x > 3" --alert "plateau x max 2 steps"\n'
                         "import nbmonitor\n"
                         "for i in [1, 2, 5, 4, 4, 1]:\n"
                         "    nbmonitor.log(x=i)\n")
    assert res.success, res.error_in_exec
    run = nbmonitor.last_run()
    assert run.name == "al"
    assert [(e.step, e.message) for e in alerts(run)] == [
        (2, "x = 5 > 3 at step 2"), (4, "x has not improved on 5 for 2 steps (now 4, step 4)")]


def test_magic_bad_rule_is_a_usage_error_and_the_cell_does_not_run(shell, capsys):
    shell.user_ns.pop("ran", None)
    res = shell.run_cell('%%monitor --alert "val/loss > 2 -> explode"\nran = True\n')
    assert not res.success and "ran" not in shell.user_ns
    out = capsys.readouterr()
    text = out.out + out.err
    assert "expected an action" in text and "usage: %%monitor" in text
    assert "  val/loss > 2 -> explode\n" + " " * 18 + "^" in text


KERAS = textwrap.dedent("""
    import json, os
    import numpy as np, keras, nbmonitor
    from nbmonitor.session import active_session
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32"); y = x.sum(1, keepdims=True)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    vals = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98]
    seen = []
    class Fake(keras.callbacks.Callback):
        def on_epoch_end(self, e, logs=None):  # the lr this epoch trained with
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
            nbmonitor.log(val_fake=vals[e]); active_session().refresh()
    with nbmonitor.monitor("k", source="import keras", print_capture=False, meters=False,
                           store=False, refresh_hz=1e-3,
                           alerts=["plateau val_fake min 2 epochs -> lr*0.5"]) as run:
        m.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[Fake()])
    print(json.dumps({"lr_by_epoch": seen,
                      "alerts": [e.step for e in run.events if e.kind == "alert"]}))
""")


@pytest.mark.framework
@pytest.mark.skipif(not __import__("importlib").util.find_spec("keras"), reason="no keras")
def test_plateau_halves_a_keras_optimizer_learning_rate():
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", KERAS], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # best 0.9 at epoch 2; epochs 3, 4 not better -> fires at the end of epoch 4
    # (step 16); the lr halves before epoch 5's first batch, again after epoch 6
    assert res["alerts"] == [16, 24]
    assert res["lr_by_epoch"][:4] == pytest.approx([0.01] * 4)
    assert res["lr_by_epoch"][4:] == pytest.approx([0.005, 0.005])
