"""The tuner seen in JupyterLab: a sweep from code shows the live tuner and freezes
to its snapshot; the tuner displayed again has a results table that sorts when a
header is clicked, reads in the dark theme, and Run from its slider adds a trial and
freezes it too; after save, kernel restart and reopen every tuner output shows its
image, never "Error displaying widget"; the console stays free of errors."""
from __future__ import annotations

import re

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import labpage as L
from . import views as V
from .notebooks import write

pytestmark = pytest.mark.browser

SETUP = """\
import time
import torch
from torch import nn
import nbmonitor
from nbmonitor import Tuner

torch.set_num_threads(1)
X = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
Y = X[:, :4].sum(1, keepdim=True)

def train(lr=0.05, hidden=16, epochs=4):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        for step in range(8):
            loss = nn.functional.mse_loss(model(X), Y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            time.sleep(0.02)
        nbmonitor.log(**{"val/loss": loss.item()})
    return loss.item()

tuner = Tuner(train, lr=nbmonitor.LogUniform(1e-3, 1e-1), hidden=[8, 16, 32],
              study_name="<b>evil</b>", storage=":memory:", session={"meters": False})
"""
SWEEP, SHOW = 1, 2
CELLS = [SETUP, '_ = tuner.sweep("random", n_trials=4, pruning=False, seed=1)', "tuner"]

# The live table's columns (header text, cell texts) of the cell's tuner.
COLUMNS = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
  const t = cell && cell.querySelector('.nbm-tuner .nbm-results');
  if (!t) return null;
  const heads = [...t.querySelectorAll('button.nbm-th')].map(b => b.textContent.trim());
  const cols = {};
  t.querySelectorAll('.nbm-col').forEach(c => {
    cols[c.dataset.col] = [...c.querySelectorAll('.nbm-td')].map(d => d.textContent.trim()); });
  return {heads, cols, best: t.querySelectorAll('.nbm-best').length};
}"""

# Rows of the static (frozen) table of the cell.
FROZEN_ROWS = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
  const t = cell && cell.querySelector('.jp-OutputArea-output table.nbm-tuner-table');
  if (!t) return null;
  const head = [...t.querySelectorAll('thead th')].map(x => x.textContent.trim());
  return [...t.querySelectorAll('tbody tr')].map(r => Object.fromEntries(
      [...r.querySelectorAll('td')].map((td, i) => [head[i], td.textContent.trim()])));
}"""


def _notebook():
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _cell(page, i):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(i)


def _frozen(page, i, rows: int) -> list[dict]:
    cell = _cell(page, i)
    L.wait_until(lambda: cell.locator(".nbm-tuner").count() == 0 and V.images_shown(cell),
                 60, f"cell {i}'s tuner to freeze to its image")
    return L.wait_until(lambda: (r := page.evaluate(FROZEN_ROWS, i)) and len(r) == rows
                        and r, 30, f"{rows} rows in the frozen table")


def test_tuner_sorts_freezes_and_survives_a_restart(lab, page):
    errors = V.console_errors(page)
    path = lab.root / "tuner.ipynb"
    write(_notebook(), path)
    L.open_notebook(page, lab.url, "tuner.ipynb")
    try:
        L.run_cell(page, 0)
        L.wait_done(page, 0, timeout=120)

        # A sweep from code: the live tuner while it trains, then its snapshot.
        L.run_cell(page, SWEEP)
        tuner = _cell(page, SWEEP).locator(".nbm-tuner")
        L.wait_until(lambda: tuner.count() and re.search(r"trial #[12] training",
                                                         tuner.first.inner_text()),
                     90, "the sweep's second trial to train")
        page.wait_for_timeout(1200)  # a few refreshes of the trial's curve
        V.shoot(tuner.first, "tuner", "live", page)
        L.wait_done(page, SWEEP, timeout=120)
        rows = _frozen(page, SWEEP, 4)
        assert {r["status"] for r in rows} == {"complete"}
        assert "worker" not in rows[0] and "error" not in rows[0]
        V.shoot(_cell(page, SWEEP).locator(".jp-OutputArea"), "tuner", "frozen", page)

        # The tuner shown again: a live table that sorts on a click of its header.
        L.run_cell(page, SHOW)
        L.wait_done(page, SHOW, timeout=60)
        table = L.wait_until(lambda: (t := page.evaluate(COLUMNS, SHOW)) and
                             len(t["cols"].get("lr", [])) == 4 and t, 30, "the live table")
        assert "worker" not in table["heads"] and "error" not in table["heads"]
        assert table["best"] == len(table["heads"])  # one highlighted row
        objective = [float(v) for v in table["cols"]["val/loss"]]
        assert objective == sorted(objective)  # best first
        live = _cell(page, SHOW).locator(".nbm-tuner")
        live.locator("button.nbm-th", has_text=re.compile(r"^lr")).click()
        def lrs_now(arrow):
            t = page.evaluate(COLUMNS, SHOW)
            return t and t["heads"][1].endswith(arrow) and [float(v) for v in t["cols"]["lr"]]
        # The header and the columns arrive as separate updates: wait for both.
        lrs = L.wait_until(lambda: (v := lrs_now("▲")) and v == sorted(v) and v, 20,
                           "rows sorted by lr")
        assert lrs != [float(v) for v in table["cols"]["lr"]]  # the order changed
        live.locator("button.nbm-th", has_text=re.compile(r"^lr")).click()
        L.wait_until(lambda: lrs_now("▼") == sorted(lrs, reverse=True), 20,
                     "rows sorted by lr, reversed")
        parallel = live.locator(".nbm-tuner-parallel")
        names = parallel.locator("text").all_text_contents()
        assert {"lr", "hidden", "val/loss"} <= {n.strip() for n in names}
        assert {"0.001", "0.01", "0.1", "8", "16", "32"} <= {n.strip() for n in names}
        V.shoot(live, "tuner", "table", page)

        # Dark theme: the live and frozen views read (text contrast >= 4.5:1).
        V.set_theme(page, "dark")
        try:
            V.shoot(live, "tuner", "live", page)
            V.shoot(_cell(page, SWEEP).locator(".jp-OutputArea"), "tuner", "frozen", page)
            bad = V.low_contrast(page, ".nbm-tuner .nbm-td, .nbm-tuner button.nbm-th, "
                                       ".nbm-tuner svg text, .nbm-tuner .widget-html")
            assert not bad, bad
        finally:
            V.set_theme(page, "light")

        # Run from the slider: one more trial, then this tuner freezes too.
        slider = live.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text=re.compile(r"^\s*lr\s*$")))
        readout = slider.locator(".widget-readout")
        readout.focus()
        page.keyboard.press("Control+a")
        page.keyboard.type("1.00e-2")
        page.keyboard.press("Enter")
        L.wait_until(lambda: readout.inner_text().strip() == "1.00e-2", 10, "the typed lr")
        live.locator(".nbm-tuner-run").click()
        rows = _frozen(page, SHOW, 5)
        assert any(float(r["lr"]) == pytest.approx(0.01) for r in rows), rows

        # Save, restart, reopen: both tuner outputs show their images.
        V.save(page, _cell(page, SHOW), path, "nbm-tuner-table")
        V.restart_kernel(page)
        L.open_notebook(page, lab.url, "tuner.ipynb")
        for i in (SWEEP, SHOW):
            L.wait_until(lambda: V.images_shown(_cell(page, i)), 30, f"cell {i}'s image")
        body = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in body
        assert page.locator(".jp-OutputArea b", has_text="evil").count() == 0  # escaped
        assert "application/vnd.jupyter.widget-state" not in path.read_text() or \
            '"state": {}' in path.read_text()
        V.shoot(_cell(page, SHOW).locator(".jp-OutputArea"), "tuner", "reopened", page)
    finally:
        V.set_theme(page, "light")
    assert not [e for e in errors if "undefinedg" in e or "model not found" in e], errors
    assert not errors, errors
