"""A new dashboard chart enters the page complete: its points, scale ranges and
ticks are set before the figure joins the grid, so no range change reaches the
browser while bqplot is still building the chart's axes."""
from nbmonitor.run import Run
from nbmonitor.widgets.dashboard import Dashboard


def test_a_chart_joins_the_grid_with_its_ranges_and_points():
    run = Run("complete")
    for step in range(20):
        run.log("loss", 1.0 / (step + 1), step=step)
        run.log("acc", step / 20, step=step)
    dash = Dashboard(run)
    seen = []

    def joined(change):
        for fig in change["new"][len(change["old"]):]:
            chart = next(c for c in dash.charts.values() if c.figure is fig)
            y = chart._y()
            seen.append((fig.title, chart.x.min, chart.x.max, y.min, y.max,
                         [len(m.x) for m in fig.marks if m.visible],
                         [len(a.tick_values if a.tick_values is not None else [])
                          for a in fig.axes]))
    dash.grid.observe(joined, "children")
    try:
        dash.refresh(0.0)
        assert sorted(t for t, *_ in seen) == ["accuracy", "loss"]
        for title, x0, x1, y0, y1, points, ticks in seen:
            assert None not in (x0, x1, y0, y1) and x0 < x1 and y0 < y1, title
            assert points and all(n == 20 for n in points), (title, points)
            assert all(n >= 2 for n in ticks), (title, ticks)
        # Later points move the ranges of charts already in the grid; none joins again.
        for step in range(20, 40):
            run.log("loss", 1.0 / (step + 1), step=step)
        dash.refresh(0.0)
        assert len(seen) == 2 and len(dash.grid.children) == 2
        assert dash.charts["loss"].x.max == 39
    finally:
        dash.close()
