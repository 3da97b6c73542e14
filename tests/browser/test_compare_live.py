"""``%monitor_compare`` seen in JupyterLab: the static comparison by default, the
live picker with ``--live`` that freezes when the next cell runs (a run keeps its
colour, two chart columns live and frozen), readable in the dark theme; after save,
kernel restart and reopen both outputs show their images, never "Error displaying
widget"; the console stays free of errors."""
from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import labpage as L
from . import views as V
from .notebooks import write

pytestmark = pytest.mark.browser

SETUP = """\
%load_ext nbmonitor
import nbmonitor
for i, lr in enumerate([0.1, 0.05, 0.02]):
    with nbmonitor.monitor(name=f"run{i}", hparams={"lr": lr}, meters=False):
        for s in range(60):
            nbmonitor.log(step=s, **{"train/loss": 1 / (1 + lr * s), "val/loss": 1.2 / (1 + lr * s),
                                     "acc": lr * s / (1 + lr * s)})
"""
STATIC, LIVE, NEXT = 1, 2, 3
CELLS = [SETUP, "%monitor_compare", "%monitor_compare --live", "1 + 1"]

# Colour per run label in the live charts, and the grid's column count.
LIVE_PROBE = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
  const w = cell && cell.querySelector('.widget-vbox.nbm-compare');
  if (!w) return null;
  const grid = w.querySelector('.widget-gridbox');
  const cols = grid ? getComputedStyle(grid).gridTemplateColumns.split(' ').length : 0;
  return {cols, lines: w.querySelectorAll('svg path.line').length};
}"""


def _notebook():
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _cell(page, i):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(i)


def test_compare_static_live_frozen_and_durable(lab, page):
    errors = V.console_errors(page)
    path = lab.root / "compare.ipynb"
    write(_notebook(), path)
    L.open_notebook(page, lab.url, "compare.ipynb")
    try:
        for i in (0, STATIC, LIVE):
            L.run_cell(page, i)
            L.wait_done(page, i, timeout=120)
        L.wait_until(lambda: V.images_shown(_cell(page, STATIC)), 30, "the static compare")
        assert _cell(page, STATIC).locator(".jupyter-widgets").count() == 0  # no widget
        assert _cell(page, STATIC).locator("table.nbm-compare").count() == 1
        probe = L.wait_until(lambda: (p := page.evaluate(LIVE_PROBE, LIVE)) and
                             p["lines"] >= 6 and p, 30, "the live compare charts")
        assert probe["cols"] == 2
        live = _cell(page, LIVE).locator(".widget-vbox.nbm-compare").first
        V.shoot(live, "compare", "live", page)
        V.shoot(_cell(page, STATIC).locator(".jp-OutputArea"), "compare", "frozen", page)
        V.set_theme(page, "dark")
        try:
            V.shoot(live, "compare", "live", page)
            V.shoot(_cell(page, STATIC).locator(".jp-OutputArea"), "compare", "frozen", page)
            bad = V.low_contrast(page, ".nbm-compare-table th, .nbm-compare-table td")
            assert not bad, bad
        finally:
            V.set_theme(page, "light")

        # The next cell freezes the live compare: an image in place of the widget.
        L.run_cell(page, NEXT)
        L.wait_done(page, NEXT, timeout=60)
        cell = _cell(page, LIVE)
        L.wait_until(lambda: cell.locator(".jupyter-widgets").count() == 0
                     and V.images_shown(cell), 30, "the live compare to freeze")

        V.save(page, cell, path, "nbm-compare-snapshot")
        V.restart_kernel(page)
        L.open_notebook(page, lab.url, "compare.ipynb")
        for i in (STATIC, LIVE):
            L.wait_until(lambda: V.images_shown(_cell(page, i)), 30, f"cell {i}'s image")
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        V.shoot(_cell(page, LIVE).locator(".jp-OutputArea"), "compare", "reopened", page)
    finally:
        V.set_theme(page, "light")
    assert not errors, errors
