"""``%monitor_compare`` as a person sees it, live and frozen, in light and dark
themes at 700 and 1600 px: screenshots for build/gallery/, no clipped or
overflowing control and charts that take the width at both widths, and a console
free of errors."""
from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import gallery as G
from . import labpage as L
from .notebooks import write

pytestmark = pytest.mark.browser

RUN = """%%monitor --name {name} --no-meters --hparams lr={lr}
import math
for i in range(300):
    nbmonitor.log(loss=math.exp(-i * {lr}) + 0.05 * math.sin(i), step=i)
    if i % 50 == 49:
        nbmonitor.log(val_loss=math.exp(-i * {lr}) + 0.1, step=i)
"""


def notebook():
    nb = new_notebook(cells=[
        new_code_cell("%load_ext nbmonitor\nimport nbmonitor"),
        new_code_cell(RUN.format(name="slow", lr=0.005)),
        new_code_cell(RUN.format(name="fast", lr=0.02)),
        new_code_cell("%monitor_compare --live slow fast")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    return nb


def test_compare_in_both_themes_and_widths(lab, page):
    errors = G.console_errors(page)
    G.set_width(page, 1600)
    write(notebook(), lab.root / "compare_gallery.ipynb")
    L.open_notebook(page, lab.url, "compare_gallery.ipynb")
    for i in range(4):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(3)
    view = cell.locator(".nbm-compare").first
    view.wait_for(timeout=30_000)
    L.wait_until(lambda: view.locator(".nbm-chart, .bqplot").count() > 0
                 or view.locator("svg path.line").count() > 0, 30, "the compare charts")
    page.wait_for_timeout(500)
    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("light", "dark"):
            G.set_theme(page, theme)
            assert G.overflows(page, ".nbm-compare") == [], (width, theme)
            assert G.clipped(page, ".nbm-compare") == [], (width, theme)
            G.shoot(view, "compare", "live", page)
            # One chart here: it takes the row, at 700 px as at 1600 px.
            assert G.chart_use(page, ".nbm-compare") > 0.9, (width, theme)
    G.set_width(page, 1600)
    G.set_theme(page, "light")
    view.locator("button", has_text="Freeze").click()
    img = cell.locator(".jp-OutputArea-output img").first
    img.wait_for(timeout=30_000)
    L.wait_until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the compare snapshot")
    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("light", "dark"):
            G.set_theme(page, theme)
            G.shoot(cell.locator(".jp-OutputArea"), "compare", "frozen", page)
    G.set_theme(page, "light")
    bad = [e for e in errors if "favicon" not in e]
    assert bad == [], bad
