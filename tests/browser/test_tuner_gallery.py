"""The tuner as a person sees it, mid-sweep and after it, in light and dark themes
at 700 and 1600 px: screenshots for build/gallery/, no clipped or overflowing
control and charts that take the width at both widths, and a console free of
errors."""
from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import gallery as G
from . import labpage as L
from .notebooks import write
from .test_tuner_live import SETUP

pytestmark = pytest.mark.browser

SWEEP = 'display(tuner)\n_ = tuner.sweep("random", n_trials=10, seed=0)\n'


def notebook():
    nb = new_notebook(cells=[new_code_cell(SETUP.replace("range(8)", "range(24)")),
                             new_code_cell(SWEEP)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    return nb


def rows(page) -> int:
    """Trials in the live table (a column of cells per field)."""
    return page.evaluate("() => { const c = document.querySelector("
                         "'.nbm-tuner .nbm-results .nbm-col');"
                         " return c ? c.querySelectorAll('.nbm-td').length : 0; }")


def fits(page, width: int, theme: str) -> None:
    """Nothing of the tuner is cut, squeezed or overflows, and its charts take the
    width of the output."""
    assert G.overflows(page, ".nbm-tuner") == [], (width, theme)
    assert G.clipped(page, ".nbm-tuner") == [], (width, theme)
    assert G.chart_use(page, ".nbm-tuner") > 0.9, (width, theme, G.chart_use(page, ".nbm-tuner"))


def test_tuner_in_both_themes_and_widths(lab, page):
    errors = G.console_errors(page)
    G.set_width(page, 1600)
    write(notebook(), lab.root / "tuner_gallery.ipynb")
    L.open_notebook(page, lab.url, "tuner_gallery.ipynb")
    L.run_cell(page, 0)
    L.wait_done(page, 0, timeout=120)
    L.run_cell(page, 1)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(1)
    L.wait_until(lambda: rows(page) >= 2, 120, "two trials in the table")
    shots = 0
    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("light", "dark"):
            G.set_theme(page, theme)
            if "[*]" in L.prompt(page, 1):  # mid-sweep only while it is
                fits(page, width, theme)
                G.shoot(cell.locator(".jp-OutputArea"), "tuner", "midsweep", page)
                shots += 1
    assert shots >= 1, "the sweep ended before a mid-sweep screenshot"
    L.wait_done(page, 1, timeout=240)
    page.wait_for_timeout(1000)
    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("light", "dark"):
            G.set_theme(page, theme)
            G.shoot(cell.locator(".jp-OutputArea"), "tuner", "done", page)
    G.set_theme(page, "light")
    bad = [e for e in errors if "favicon" not in e]
    assert bad == [], bad
