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


def test_the_gradient_norm_chart_has_one_palette_live_and_frozen():
    from nbmonitor.style import PALETTE, series_colors
    run = Run("norms")
    for i in range(1, 200):
        run.log("loss", 1.0 / i, step=i)
        run.log("grad/norm", 0.5 + 0.2 * np.sin(i / 7), step=i)
    run.step = 199
    run.finish("finished")
    dash = Dashboard(run)
    dash.refresh(1.0)
    live = dash.model.norms
    fig = draw(run, smoothing=0.0)
    ax = next(a for a in fig.axes if a.get_title() == "grad/norm")
    drawn = {ln.get_label(): mcolors.to_hex(ln.get_color()) for ln in ax.lines}
    shown = {name: line.colors[0] for name, line in live.smooth.items()}
    assert drawn == shown == series_colors(["grad/norm"]) and shown["grad/norm"] in PALETTE
    assert ax.get_yscale() == ("log" if live.log else "linear")
    assert list(ax.get_yticks()) == pytest.approx(list(live.ax_y.tick_values))
    assert ax.get_ylim() == pytest.approx((live._y().min, live._y().max))
    dash.close()


def test_live_grid_and_image_have_the_same_columns():
    from nbmonitor.layout import COLUMNS, grid_layout
    run = Run("columns")
    for i in range(1, 100):
        for name in ("loss", "accuracy", "margin"):  # three charts: two rows of two
            run.log(name, 1.0 / i + len(name), step=i)
        run.log("grad/norm", 1.0 + i % 3, step=i)
    run.finish("finished")
    dash = Dashboard(run)
    dash.refresh(1.0)
    assert len(dash.grid.children) == 3
    for grid in (dash.grid, dash.model.row):  # metric charts and the model panel
        assert {k: getattr(grid.layout, k) for k in grid_layout()} == grid_layout()
    assert f"/ {COLUMNS})" in grid_layout()["grid_template_columns"]
    fig = draw(run)
    boxes = {a.get_title(): a.get_position() for a in fig.axes}
    lefts = sorted({round(boxes[t].x0, 3) for t in ("loss", "accuracy", "margin")})
    assert len(lefts) == COLUMNS
    # the model panel starts a row of its own, in the first column
    assert round(boxes["grad/norm"].x0, 3) == lefts[0]
    assert boxes["grad/norm"].y1 < min(boxes[t].y0 for t in ("loss", "accuracy", "margin"))
    dash.close()
