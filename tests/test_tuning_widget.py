"""The tuner widget without a browser: controls of the right kinds (through
``get_state``), trials drawn and tabled, Apply best moves the controls."""
import ipywidgets as W
import pytest

import nbmonitor
from nbmonitor import Tuner
from nbmonitor.tuning.snapshot import bundle

from .tuning_train import train

pytestmark = pytest.mark.framework


@pytest.fixture
def tuner():
    t = Tuner(train, lr=nbmonitor.LogUniform(1e-3, 1e-1), q=(0.5, 2.0), epochs=(1, 3),
              act=["relu", "tanh"], storage=":memory:", session={"meters": False})
    yield t
    t.widget().close()


def test_controls_by_kind(tuner):
    c = tuner.widget().controls
    assert isinstance(c["lr"], W.FloatLogSlider)
    state = c["lr"].get_state()
    assert (state["min"], state["max"], state["base"]) == (-3, -1, 10)
    assert state["value"] == pytest.approx(0.05)
    assert type(c["q"]) is W.FloatSlider and c["q"].get_state()["max"] == 2.0
    assert isinstance(c["epochs"], W.IntSlider) and c["epochs"].value == 3
    assert isinstance(c["act"], W.Dropdown) and c["act"].get_state()["_options_labels"] == ("relu", "tanh")
    assert isinstance(c["fail"], W.Checkbox) and c["fail"].value is False
    c["q"].value = 1.5
    assert tuner.values["q"] == 1.5


def test_runs_fill_the_charts_and_table_and_apply_best(tuner):
    view = tuner.widget()
    tuner.run(q=1.8, epochs=1)
    tuner.run(q=0.6, epochs=2, act="tanh", lr=0.01)
    assert set(view.curves.lines) == {0, 1}
    best = view.curves.lines[1]
    assert best.stroke_width == 3 and view.curves.lines[0].stroke_width == 1
    assert len(view.parallel.lines.y) == 2
    assert view.table.value.count("<tr") == 3  # header + 2 trials
    assert "2 trials" in view.status.value and not view.live.children
    view.controls["q"].value = 1.9
    view.apply_best()
    assert view.controls["q"].value == pytest.approx(0.6)
    assert view.controls["act"].value == "tanh" and view.controls["epochs"].value == 2
    assert tuner.values["lr"] == pytest.approx(0.01)
    view.sort.value = "q"
    view.ascending.value = False
    assert view.table.value.index("1.8") < view.table.value.index("0.6")
    data = bundle(tuner)
    assert data["image/png"] and "best val/loss" in data["text/plain"]


def test_sweep_button_leaves_the_kernel_free_and_stop_ends_it():
    import threading
    import time

    from .tuning_train import STEPS_PER_EPOCH
    t = Tuner(train, q=(0.5, 2.0), epochs=(1, 50), storage=":memory:",
              session={"meters": False})
    view = t.widget()
    t.study.enqueue_trial({"q": 1.0, "epochs": 50})
    view.method.value, view.n_trials.value, view.pruning.value = "random", 4, False
    view.sweep_button.click()  # returns at once: the sweep trains on a thread

    def sweeping() -> bool:
        return any(th.name == "nbmonitor-tuner" for th in threading.enumerate())
    deadline = time.time() + 30
    while (nbmonitor.current_run() is None or nbmonitor.current_run().step < 3) \
            and time.time() < deadline:
        time.sleep(0.02)
    assert sweeping() and list(t.results["status"]) == ["running"]  # readable meanwhile
    assert "trial #0 training" in view.status.value
    view.stop_button.click()
    while sweeping() and time.time() < deadline + 30:
        time.sleep(0.02)
    try:
        df = t.results
        assert not sweeping() and len(df) == 1  # the sweep ended with the stopped trial
        assert df["status"][0] == "failed" and df["error"][0] == "stopped by the user"
        assert nbmonitor.last_run().step < 50 * STEPS_PER_EPOCH
    finally:
        view.close()
