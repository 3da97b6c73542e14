"""The controls row without a browser: knob sliders appear once knobs are known,
moving one only records a pending change, applied changes become chart markers."""
from __future__ import annotations

import pytest

from nbmonitor.run import Run
from nbmonitor.widgets.dashboard import Dashboard
from nbmonitor.widgets.routing import NOT_LIVE, live_controls, route_to_sender


def test_knob_slider_records_a_pending_change_only():
    run = Run("w")
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert dash.panel.sliders == {}
    run.knobs = {"lr": 0.1, "momentum": 0.9}
    dash.refresh(0.0)
    lr = dash.panel.sliders["lr"]
    assert type(lr).__name__ == "FloatLogSlider" and lr.value == pytest.approx(0.1)
    assert type(dash.panel.sliders["momentum"]).__name__ == "FloatSlider"
    lr.value = 0.01
    assert run.has_pending and run.take_controls() == {"lr": pytest.approx(0.01)}
    dash.close()


def test_applied_lr_changes_are_drawn_as_markers():
    run = Run("m")
    run.knobs = {"lr": 0.1}
    run.log("lr", 0.1, step=0)
    run.step = 7
    run.record_control("lr", 0.1, 0.02)
    run.log("lr", 0.02, step=7)
    dash = Dashboard(run)
    dash.refresh(0.0)
    markers = dash.charts["lr"].markers
    assert markers is not None and list(markers.x) == [7.0]
    assert list(markers.y) == pytest.approx([0.02])
    dash.close()


def test_a_constant_series_is_a_header_value_until_it_changes():
    run = Run("c")
    for i in range(5):
        run.log("lr", 0.05, step=i)
        run.log("loss", 1 / (i + 1), step=i)
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert set(dash.charts) == {"loss"} and dash.constants == {"lr": 0.05}
    assert "nbm-const" in dash.header.value and "0.05" in dash.header.value
    run.log("lr", 0.01, step=5)
    dash.refresh(0.0)
    dash.refresh(0.0)
    assert set(dash.charts) == {"loss", "lr"} and dash.constants == {}
    assert list(dash.charts["lr"].smooth["lr"].y) == pytest.approx([0.05] * 5 + [0.01])
    dash.close()


def test_zero_weight_decay_shows_zero_and_typed_values_apply():
    run = Run("wd")
    run.knobs = {"lr": 0.05, "weight_decay": 0.0}
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert dash.panel.typed["weight_decay"].value == 0.0
    assert dash.panel.typed["lr"].value == pytest.approx(0.05)
    dash.panel.typed["lr"].value = 0.003
    assert run.take_controls() == {"lr": pytest.approx(0.003)}
    assert dash.panel.sliders["lr"].value == pytest.approx(0.003)
    dash.panel.typed["lr"].value = 50.0  # past the knob's range: refused, box reset
    assert dash.panel.typed["lr"].value == pytest.approx(0.003) and not run.has_pending
    dash.finish()
    assert dash.stop.disabled and dash.pause.disabled
    dash.close()


def test_paused_header_keeps_the_rate_and_marks_the_pause():
    run = Run("p", total_steps=100)
    run.step = 10
    dash = Dashboard(run)
    dash.refresh(5.0)
    assert "5.0 it/s" in dash.header.value and "eta" in dash.header.value
    run.pause()
    dash.refresh(0.5)  # the rate decays while nothing moves: not shown
    assert "5.0 it/s" in dash.header.value and "eta" not in dash.header.value
    assert "paused at step 10 since" in dash.header.value
    run.resume()
    dash.close()


def test_not_live_outside_a_kernel_with_subshells_and_said_so():
    assert live_controls(background=True) is True
    assert live_controls(background=False) is False  # no kernel here
    run = Run("n")
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert NOT_LIVE in dash.panel.note.value
    dash.close()
    bg = Dashboard(Run("b"), background=True)
    bg.refresh(0.0)
    assert bg.panel.note.value == ""
    bg.close()


def test_route_to_sender_keeps_the_message_subshell():
    class Comm:
        def _reply_subshell_for(self, data, default):
            return "main"

    w = type("W", (), {"comm": Comm()})()
    route_to_sender(w)
    assert w.comm._reply_subshell_for({}, "sub-1") == "sub-1"
