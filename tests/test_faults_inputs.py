"""Legal but awkward training code and bad options: nothing fails inside
nbmonitor, every user error is one clear line, user functions that raise anything
are disabled with a message while the refresher goes on, and the default
divergence rule stays quiet on a stationary noisy loss."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbmonitor
from nbmonitor.alerts import AlertEngine, default_rules
from nbmonitor.progress import TextProgress
from nbmonitor.run import Run
from nbmonitor.session import active_session
from nbmonitor.totals import estimate_epochs

QUIET = dict(print_capture=False, meters=False, store=False)


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext nbmonitor", store_history=False)
    yield sh


@pytest.mark.parametrize("option, value", [
    ("refresh_hz", 1e-300), ("refresh_hz", 1e9), ("refresh_hz", float("nan")),
    ("sample_every", 1e300), ("sample_every", 1e-12), ("max_points", 10 ** 12),
    ("total_steps", 0), ("epochs", 2.5), ("refresh_hz", "fast")])
def test_numeric_options_have_sane_ranges(option, value):
    with pytest.raises(ValueError) as e:
        nbmonitor.monitor("r", **{option: value})
    text = str(e.value)
    assert "\n" not in text and text.startswith(option) and "must be" in text


def test_monitor_keyword_errors_are_one_line():
    with pytest.raises(TypeError, match=r"^nbmonitor.monitor: unknown option 'refresh' "
                                        r"\(did you mean 'refresh_hz'\?\); options are "):
        nbmonitor.monitor("r", refresh=2)


def test_alerts_as_one_string_is_one_rule():
    s = nbmonitor.monitor("r", alerts="x > 1", default_alerts=False, **QUIET)
    assert [str(r) for r in s.rules] == ["x > 1"]


@pytest.mark.parametrize("line, message", [
    ("--hparams '" + "[" * 3000 + "]" * 3000 + "'", "expected key=value"),
    ("--hparams '{\"a\": " + "[" * 3000 + "]" * 3000 + "}'", "nested too deeply"),
    ("--refresh-hz 1e-300", "refresh_hz must be between"),
    ("--sample-every 1e300", "sample_every must be between"),
])
def test_magic_bad_values_are_one_usage_line(shell, capsys, line, message):
    shell.user_ns.pop("ran", None)
    res = shell.run_cell(f"%%monitor {line}\nran = True\n")
    assert not res.success and "ran" not in shell.user_ns
    err = capsys.readouterr()
    text = err.out + err.err
    assert "RecursionError" not in text and "Traceback" not in text
    import re
    assert re.search(message, text)


def test_compare_with_the_store_off_says_so(shell, capsys):
    res = shell.run_cell("%monitor_compare --store off")
    text = "".join(capsys.readouterr())
    assert not res.success and "AttributeError" not in text
    assert "the run store is off" in text


def test_huge_epoch_ranges_and_infinite_steps_do_not_fail():
    assert estimate_epochs("for epoch in range(10**20):\n    for b in d:\n        pass\n",
                           {}) is None
    with nbmonitor.monitor("inf", source="for epoch in range(10**20):\n  for x in y: pass",
                           **QUIET) as run:
        nbmonitor.log(loss=1.0, step=float("inf"))
        nbmonitor.log(loss=0.5, step=float("nan"))
        nbmonitor.log(loss=0.25, step=10 ** 30)
        nbmonitor.log(loss=0.125, step=np.float32(7))
    assert run.status == "finished" and run.buffer.series("loss").count == 4
    assert run.step == 2 ** 63 - 1


def test_an_optimizer_with_lr_auto_trains():
    torch = pytest.importorskip("torch")

    class Auto(torch.optim.SGD):
        def __init__(self, params):
            super().__init__(params, lr=0.01)
            for g in self.param_groups:
                g["lr"] = "auto"

        @torch.no_grad()
        def step(self, closure=None):  # its own update: no nested SGD.step hooks
            for g in self.param_groups:
                for p in g["params"]:
                    p -= 0.01 * p.grad

    model = torch.nn.Linear(4, 1)
    opt = Auto(model.parameters())
    with nbmonitor.monitor("auto", **QUIET) as run:
        for _ in range(5):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert run.status == "finished" and run.step == 5
    assert run.buffer.series("train/loss").count == 5 and "lr" not in run.buffer


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_on_alert_raising_anything_is_disabled_and_stop_still_acts(exc):
    @nbmonitor.on_alert
    def rude(alert):
        raise exc("from a user function")
    try:
        with nbmonitor.monitor("rude", alerts=["x > 5 -> stop"], refresh_hz=50,
                               **QUIET) as run:
            session = active_session()
            thread = session._thread
            i = 0
            deadline = time.time() + 20
            while time.time() < deadline:  # the rule's stop lands at a log call
                alive = thread.is_alive()
                nbmonitor.log(x=float(i))
                i += 1
                time.sleep(0.002)
    finally:
        nbmonitor.clear_alerts()
    assert run.status == "stopped" and alive
    (err,) = [e for e in run.events if e.kind == "alert_error"]
    assert f"rude disabled: {exc.__name__}" in err.message


def test_default_divergence_rule_is_quiet_on_stationary_noise():
    """20,000 points of a GAN-style loss: stationary, heavy-tailed noise."""
    rng = np.random.default_rng(1)
    loss = np.exp(rng.normal(0.0, 1.2, 20_000))
    run = Run("gan")
    engine = AlertEngine(run, default_rules())
    for i in range(0, 20_000, 500):
        for j in range(i, i + 500):
            run.log("g_loss", float(loss[j]), j)
        engine.check()
    fired = [a for a in engine.alerts if "diverg" in a.message]
    assert 1 <= len(fired) <= 10, len(fired)


def test_default_divergence_rule_still_catches_a_real_divergence():
    run = Run("blowup")
    engine = AlertEngine(run, default_rules())
    for i in range(400):
        run.log("loss", 1.0 / (1 + i) if i < 300 else 0.01 * 1.1 ** (i - 300), i)
    engine.check()
    fired = [a for a in engine.alerts if "diverg" in a.message]
    assert len(fired) == 1 and fired[0].step > 300


def test_repeated_alerts_are_not_repeated_on_stderr():
    run = Run("noisy")
    engine = AlertEngine(run, [nbmonitor.alerts.parse_rule("x > 1")])
    out = io.StringIO()
    view = TextProgress(run, out)
    for i in range(100):
        run.log("x", 2.0 if i % 2 == 0 else 0.0, i)  # fires every other point
        engine.check()
        view.refresh(0.0)
    lines = [ln for ln in out.getvalue().replace("\r", "\n").splitlines() if "alert" in ln]
    assert len(engine.alerts) == 50 and len(lines) == 4
    assert "keeps firing; further alerts are recorded, not shown" in lines[-1]


def test_store_messages_do_not_share_the_progress_line(tmp_path, capsys):
    import nbmonitor.say as say
    from nbmonitor.store import reading
    reading._warned.clear()
    run = Run("line")
    run.log("loss", 1.0, 0)
    view = TextProgress(run)  # draws on sys.stderr, captured
    view.refresh(0.0)
    say.say("nbmonitor: a message")
    view.refresh(0.0)
    view.close("done")
    err = capsys.readouterr().err
    assert "\nnbmonitor: a message\n" in err
    assert threading.active_count() >= 1
