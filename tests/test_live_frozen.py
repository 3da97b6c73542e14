"""The live dashboard and the frozen snapshot of one run agree: the same charts,
series, colours, y scales and tick values; constants are header values in both."""
from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pytest

from nbmonitor.run import Run
from nbmonitor.snapshot import draw, headline
from nbmonitor.widgets.dashboard import Dashboard


def long_run() -> Run:
    run = Run("agree")
    for i in range(1, 25_001, 25):  # a loss over four decades: log y in both
        run.log("loss", 10.0 / i, step=i)
        run.log("lr", 0.1, step=i)  # constant: a header value in both
        if i % 2500 == 1:
            run.log("val_loss", 12.0 / i, step=i)
            run.log("val_acc", 0.5 + 0.4 * (1 - 1 / (1 + i / 5000)), step=i)
    run.step = 25_000
    run.finish("finished")
    return run


def test_live_and_frozen_draw_the_same_charts():
    run = long_run()
    dash = Dashboard(run)
    dash.refresh(10.0)
    dash.refresh(10.0)
    fig = draw(run, smoothing=0.0, log=dash.log_choices())
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_title() in dash.charts}
    assert set(axes) == set(dash.charts) == {"loss", "accuracy"}
    assert "lr" in dash.constants and "lr 0.1" in headline(run, {"lr": 0.1})
    assert dash.charts["loss"].log and axes["loss"].get_yscale() == "log"
    assert not dash.charts["accuracy"].log and axes["accuracy"].get_yscale() == "linear"
    for key, chart in dash.charts.items():
        ax = axes[key]
        drawn = {ln.get_label(): mcolors.to_hex(ln.get_color()) for ln in ax.lines
                 if not ln.get_label().startswith("_")}
        live = {name: line.colors[0] for name, line in chart.smooth.items()}
        assert drawn == live
        assert list(ax.get_yticks()) == pytest.approx(list(chart.ax_y.tick_values))
        lo, hi = ax.get_ylim()
        y = chart._y()
        assert (lo, hi) == pytest.approx((y.min, y.max))
    dash.close()


def test_single_point_then_more_gets_a_domain_with_width_and_round_ticks():
    run = Run("one")
    run.log("score", 0.5, step=0)
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert dash.charts == {} and dash.constants == {"score": 0.5}
    run.log("score", 0.52, step=10)
    dash.refresh(0.0)
    chart = dash.charts["score"]
    assert chart.x.max > chart.x.min and chart.y_lin.max > chart.y_lin.min
    ticks = np.asarray(chart.ax_y.tick_values)
    steps = np.diff(ticks)
    assert len(ticks) >= 3 and np.allclose(steps, steps[0])
    mant = steps[0] / 10 ** np.floor(np.log10(steps[0]))
    assert min(abs(mant - m) for m in (1, 2, 5)) < 1e-6  # 1-2-5 steps
    assert chart.ax_x.tick_values is not None and len(chart.ax_x.tick_values) >= 2
    dash.close()
