"""The chart grid of a run, one rule for the live dashboard and the frozen snapshot.

The snapshot is one image (the output that survives on GitHub and nbviewer), drawn
without knowing the browser's width, so it has a fixed number of columns. The live
grid follows it: :data:`COLUMNS` charts a row however wide the notebook, so the
same run shows the same rows and columns live and frozen. Only where the output is
too narrow for two readable charts (:data:`MIN_CHART_PX` each) does the live grid
fall back to one column; the image is scaled down there instead.
"""
from __future__ import annotations

COLUMNS = 2  # charts a row, live and frozen
MIN_CHART_PX = 300  # a live chart narrower than this is not readable
CHART_HEIGHT_PX = 240  # a live chart's height; a snapshot row is as tall (with the gap)
GAP_PX = 8  # between live charts
MODEL_EXTRA_PX = 40  # the live model panel's title and note lines, above and below its row


def grid_layout() -> dict[str, str]:
    """ipywidgets layout of a live chart grid: :data:`COLUMNS` equal columns, one
    column when the output is narrower than :data:`COLUMNS` readable charts.
    (``auto-fill`` keeps empty tracks, so a single chart is one column wide, as
    in the image.)"""
    share = f"calc((100% - {(COLUMNS - 1) * GAP_PX}px) / {COLUMNS})"
    return {"display": "grid", "width": "100%",
            "grid_template_columns": f"repeat(auto-fill, minmax(max({MIN_CHART_PX}px, "
                                     f"{share}), 1fr))",
            "grid_gap": f"{GAP_PX}px"}
