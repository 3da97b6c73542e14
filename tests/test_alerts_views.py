"""Alerts as the dashboard and the frozen snapshot show them (they only read events)."""
import math

import pytest

from nbmonitor.alerts import AlertEngine, as_rule
from nbmonitor.run import Run
from nbmonitor.snapshot import draw, summary_text
from nbmonitor.widgets.dashboard import Dashboard
from nbmonitor.widgets.banner import SHOWN


def alerted_run():
    run = Run("views")
    eng = AlertEngine(run, [as_rule("nan"), as_rule("val/loss > 2 -> stop")])
    for step in range(1, 11):
        run.log("train/loss", 1.0 / step if step != 7 else math.nan, step=step)
    run.log("val/loss", 3.0, step=10)
    eng.check()
    return run


def test_dashboard_banner_and_chart_markers():
    run = alerted_run()
    dash = Dashboard(run)
    try:
        dash.refresh(0.0)
        html = dash.banner.widget.value
        assert dash.banner.widget.layout.display == ""
        assert "step 7: train/loss is nan at step 7" in html
        assert "step 10: val/loss = 3 &gt; 2 at step 10 -&gt; stop" in html
        marks = dash.charts["loss"].alerts
        assert sorted(marks.x.tolist()) == [7.0, 10.0]
        # the NaN at the last finite value before it (1/6, unsmoothed: < 10 points)
        assert sorted(marks.y.tolist()) == pytest.approx([1 / 6, 3.0])
        dash.refresh(0.0)  # nothing new: nothing added
        assert len(dash.charts["loss"].alerts.x) == 2
    finally:
        dash.close()


def test_banner_keeps_the_newest_and_counts_the_rest():
    run = Run("many")
    for i in range(SHOWN + 3):
        run.event("alert", f"alert {i}", step=i)
    dash = Dashboard(run)
    try:
        dash.refresh(0.0)
        html = dash.banner.widget.value
        assert f"alert {SHOWN + 2}" in html and "alert 0" not in html and "(3 earlier)" in html
    finally:
        dash.close()


def test_snapshot_lists_and_marks_alerts():
    run = alerted_run()
    text = summary_text(run)
    assert "alerts (2):" in text
    assert "  step 7: train/loss is nan at step 7" in text
    fig = draw(run)
    ax = next(a for a in fig.axes if a.get_title() == "loss")
    vlines = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert sorted(ln.get_xdata()[0] for ln in vlines) == [7, 10]
