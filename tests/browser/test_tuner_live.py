"""The tuner widget seen in JupyterLab: a real (tiny) PyTorch training function
becomes sliders; typing a new learning rate into the log slider's readout and
pressing Run trains one more trial on the kernel's background thread, which adds
a row with that value to the results table and a curve to the curves chart."""
from __future__ import annotations

import re
import time

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import labpage as L
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

def train(lr=0.05, hidden=16, steps=30):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for step in range(steps):
        loss = nn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        nbmonitor.log(**{"val/loss": loss.item()})
        time.sleep(0.02)
    return loss.item()

tuner = Tuner(train, lr=nbmonitor.LogUniform(1e-3, 1e-1), hidden=[8, 16, 32],
              storage=":memory:", session={"meters": False})
"""

# One trial from code, so the table and the chart already hold something.
SHOW = "display(tuner)\n_ = tuner.run()\n"

# The results table (header cells, body rows) and the number of curves of the
# tuner's current view, in one trip. When a run ends the tuner's output is updated
# with the static snapshot beside the widget, so JupyterLab renders a new view: the
# test marks the old one ``data-nbm-old`` and reads only a newer one.
PROBE = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
  const tuner = cell && cell.querySelector('.nbm-tuner:not([data-nbm-old])');
  if (!tuner) return null;
  const table = tuner.querySelector('table.nbm-tuner-table');
  const head = table ? [...table.querySelectorAll('thead th')].map(t => t.textContent.trim()) : [];
  const rows = table ? [...table.querySelectorAll('tbody tr')].map(
      r => [...r.querySelectorAll('td')].map(t => t.textContent.trim())) : [];
  const fig = tuner.querySelector('.nbm-tuner-curves');
  return {head, rows, figure: !!fig,
          curves: fig ? fig.querySelectorAll('svg path.line').length : -1,
          status: tuner.innerText};
}"""

CELL = 1  # the cell that shows the tuner


def _notebook():
    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell(SHOW)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _records(p: dict) -> list[dict[str, str]]:
    return [dict(zip(p["head"], r)) for r in p["rows"]]


def test_slider_then_run_adds_a_row_and_a_curve(lab, page, build_dir):
    t0 = time.monotonic()
    write(_notebook(), lab.root / "tuner.ipynb")
    L.open_notebook(page, lab.url, "tuner.ipynb")
    for i in (0, CELL):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)

    # The first run's snapshot update has been handled once the kernel shows idle.
    L.wait_until(lambda: page.evaluate(
        "() => /idle/i.test(document.querySelector('.jp-Notebook-ExecutionIndicator')"
        "?.getAttribute('data-status') || '')"), 30, "an idle kernel after the first run")
    probe = lambda: page.evaluate(PROBE, CELL)  # noqa: E731
    before = L.wait_until(lambda: (p := probe()) and len(p["rows"]) == 1
                          and p["curves"] == 1 and p, 30,
                          "the first trial's row and curve")
    first = _records(before)[0]
    assert first["trial"] == "0" and first["status"] == "complete", first
    assert float(first["lr"]) == pytest.approx(0.05), first

    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(CELL)
    tuner = cell.locator(".nbm-tuner")
    assert tuner.count() == 1, "one tuner view"
    slider = tuner.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(r"^\s*lr\s*$")))
    assert slider.count() == 1, "one lr slider"
    readout = slider.locator(".widget-readout")
    # 1e-2 is exactly on the slider's grid (step 0.01 in log10): no rounding.
    # focus(), not click(): at this output width (848 px) the Run button's box
    # overlaps the lr readout, so a click would depend on hit-testing a covered box.
    readout.focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("1.00e-2")
    page.keyboard.press("Enter")
    L.wait_until(lambda: readout.inner_text().strip() == "1.00e-2",
                 10, "the readout to show the typed lr")

    tuner.evaluate("el => { el.dataset.nbmOld = '1'; }")
    tuner.locator(".nbm-tuner-run").click()
    after = L.wait_until(lambda: (p := probe()) and len(p["rows"]) == 2
                         and p["curves"] == 2 and p, 40,
                         "a second row in the results table and a second curve")
    rows = {r["trial"]: r for r in _records(after)}
    assert set(rows) == {"0", "1"}, rows
    assert float(rows["1"]["lr"]) == pytest.approx(0.01), rows["1"]
    assert float(rows["0"]["lr"]) == pytest.approx(0.05), rows["0"]
    assert rows["1"]["status"] == "complete", rows["1"]
    assert rows["1"]["hidden"] == rows["0"]["hidden"] == "16"
    assert "2 trials" in after["status"], after["status"]
    view = cell.locator(".nbm-tuner:not([data-nbm-old])")
    # The new view shows the moved value too (the slider's model kept it).
    assert view.locator(".widget-slider").filter(has=page.locator(
        ".widget-label", has_text=re.compile(r"^\s*lr\s*$"))).locator(
        ".widget-readout").inner_text().strip() == "1.00e-2"
    view.screenshot(path=str(build_dir / "tuner.png"))
    assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
    assert time.monotonic() - t0 < 90
