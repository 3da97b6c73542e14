"""The tuner widget without a browser: controls of the right kinds (through
``get_state``), trials drawn and tabled, Apply best moves the controls."""
import math

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


def _column(view, name):
    """The texts of a column of the live results table, top to bottom."""
    import re
    for w in view.table.grid.children:
        if isinstance(w, W.HTML) and f"data-col='{name}'" in w.value:
            return re.findall(r">([^<>]*)</div>", w.value)
    raise AssertionError(f"no column {name}")


def test_runs_fill_the_charts_and_table_and_apply_best(tuner):
    view = tuner.widget()
    tuner.keep_live = True  # the view stays open after each run
    tuner.run(q=1.8, epochs=1)
    tuner.run(q=0.6, epochs=2, act="tanh", lr=0.01)
    assert set(view.curves.lines) == {0, 1}
    best = view.curves.lines[1]
    assert best.stroke_width == 3 and view.curves.lines[0].stroke_width == 1.5
    assert view.curves.figure.marks[-1] is best  # drawn on top
    assert view.curves.y.min >= 0 and view.curves.y.max > 1.8  # positive losses
    assert len(view.parallel.lines.y) == 2 and list(view.parallel.best.y)
    assert list(view.parallel.names.text) == ["lr", "q", "act", "epochs", "val/loss"]
    ticks = list(view.parallel.ticks.text)
    assert "0.001" in ticks and "0.01" in ticks and "relu" in ticks and "tanh" in ticks
    heads = [b.description for b in view.table.grid.children if isinstance(b, W.Button)]
    assert "worker" not in heads and "error" not in heads and "run_id" not in heads
    assert _column(view, "trial") == ["1", "0"]  # best first (minimize)
    assert "nbm-best" in [w for w in view.table.grid.children
                          if isinstance(w, W.HTML) and "data-col='trial'" in w.value][0].value
    assert "2 trials: 2 complete" in view.status.value and not view.live.children
    view.controls["q"].value = 1.9
    view.apply_best()
    assert view.controls["q"].value == pytest.approx(0.6)
    assert view.controls["act"].value == "tanh" and view.controls["epochs"].value == 2
    assert tuner.values["lr"] == pytest.approx(0.01)
    view.table.click("q")
    assert _column(view, "q") == ["0.6", "1.8"]
    view.table.click("q")
    assert _column(view, "q") == ["1.8", "0.6"]
    data = bundle(tuner)
    assert data["image/png"] and "best val/loss" in data["text/plain"]


def test_apply_best_keeps_the_exact_value_off_the_slider_grid(tuner):
    view = tuner.widget()
    tuner.study.enqueue_trial({"lr": 0.0123456, "q": 0.777777, "epochs": 1, "act": "relu"})
    tuner.keep_live = True
    tuner.sweep("random", n_trials=1, pruning=False)
    view.apply_best()
    # what the browser sends back: the values snapped to the sliders' grids
    view.controls["lr"].value = 10 ** round(math.log10(0.0123456), 2)
    view.controls["q"].value = round(0.777777 / 0.015) * 0.015
    assert tuner.values["lr"] == 0.0123456 and tuner.values["q"] == 0.777777
    view.controls["q"].value = 1.5  # a real move is taken
    assert tuner.values["q"] == 1.5


def test_status_line_escapes_what_it_did_not_write(tuner):
    from nbmonitor.tuning.widget import error_line, status_line
    view = tuner.widget()
    evil = "<img src=x onerror=alert(1)>"
    assert "1 trial:" in status_line(1, {"complete": 1}) and "0 trials<" in status_line(0, {})
    line = error_line(ValueError(evil))
    assert "<img" not in line and "&lt;img" in line
    view._start(lambda: (_ for _ in ()).throw(RuntimeError(evil)))
    import time
    deadline = time.time() + 10
    while "error" not in view.status.value and time.time() < deadline:
        time.sleep(0.02)
    assert "<img" not in view.status.value and "&lt;img src=x" in view.status.value


def test_freeze_closes_every_widget_and_shows_the_snapshot(tuner):
    class Handle:
        def update(self, data, raw=False):
            self.data = data
    view = tuner.widget()
    handle = view._display = Handle()
    tuner.run(q=1.0, epochs=1)
    assert "application/vnd.jupyter.widget-view+json" not in handle.data
    assert handle.data["image/png"] and "1 trial: 1 complete" in handle.data["text/plain"]
    assert view.widget.comm is None and view.curves.figure.comm is None
    assert view.table.grid.comm is None and tuner.widget_view is None
    assert all(c.comm is None for c in view.controls.values())


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


def test_single_point_curves_show_and_never_freeze_the_range():
    from nbmonitor.tuning.charts import CurvesChart
    chart = CurvesChart("val/loss")
    try:
        chart.set_curve(0, [8], [0.5], "pruned", False)  # pruned after one report
        line = chart.lines[0]
        assert line.marker == "circle" and list(line.y) == [0.5]
        assert chart.y.min < 0.5 < chart.y.max and chart.y.min >= 0
        assert chart.x.min < chart.x.max and len(chart.ax_y.tick_values) >= 2
        chart.set_curve(1, [8, 16, 24, 32], [3.0, 2.0, 1.5, 1.2], "complete", True)
        assert chart.lines[1].marker is None
        assert chart.y.min <= 0.5 and chart.y.max >= 3.0 and chart.x.max == 4
        chart.set_curve(2, [8], [9.0], "pruned", False)  # a later, worse one is seen too
        assert chart.y.max >= 9.0
        assert chart.figure.marks[-1] is chart.lines[1]  # best on top
    finally:
        chart.close()


def test_snapshot_of_a_hostile_study_draws_and_escapes():
    t = Tuner(train, q=(0.5, 2.0), act=["$x^$", "<b>b</b>"], study_name="$\\frac{<script>$",
              storage=":memory:", session={"meters": False})
    t.sweep("random", n_trials=2, pruning=False, seed=0)
    data = bundle(t)
    assert data["image/png"] and "<script>" not in data["text/html"]
    assert "&lt;script&gt;" in data["text/html"] and "<b>b</b>" not in data["text/html"]


def test_charts_join_the_page_with_their_first_curve_complete(tuner):
    view = tuner.widget()
    assert view.charts.children == ()  # no trial yet: no chart to build in the browser
    joined = []
    view.charts.observe(lambda ch: joined.append(
        (view.curves.x.max, view.curves.y.max, {n: len(l.x) for n, l in view.curves.lines.items()},
         len(view.curves.ax_y.tick_values))), "children")
    tuner.keep_live = True
    tuner.run(q=1.8, epochs=2)
    assert view.charts.children == (view.curves.figure, view.parallel.figure)
    (x_max, y_max, points, ticks), = joined  # joined once, with its first points
    assert x_max >= 1 and y_max > 0 and points and all(n >= 1 for n in points.values())
    assert ticks >= 2
