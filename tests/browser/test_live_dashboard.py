"""The live dashboard seen in JupyterLab: the chart gains points and the step
counter advances while the cell still runs; then the frozen snapshot replaces it,
and stays after a kernel restart and a reload of the saved notebook."""
from __future__ import annotations

import re

import pytest

from . import labpage as L
from .notebooks import HOSTILE_METRIC, HOSTILE_NAME, training_notebook, write

pytestmark = pytest.mark.browser

TRAIN = 2  # index of the %%monitor cell


def _step(text: str | None) -> int:
    m = re.search(r"step\s+([\d,]+)", text or "")
    return int(m.group(1).replace(",", "")) if m else -1


def test_dashboard_updates_while_running_then_freezes(lab, page, build_dir):
    write(training_notebook(8, "--name mlp-demo"), lab.root / "live.ipynb")
    L.open_notebook(page, lab.url, "live.ipynb")
    L.run_cell(page, 0)
    L.wait_done(page, 0)
    L.run_cell(page, 1)
    L.wait_done(page, 1, timeout=120)
    L.run_cell(page, TRAIN)

    seen, shot = [], False

    def done():
        nonlocal shot
        p = L.probe(page, TRAIN)
        if p["dashboard"] and "[*]" in p["prompt"]:
            seen.append(p)
            if not shot and max(p["counts"] or [0]) > 120:
                page.locator(".nbm-dashboard").first.screenshot(
                    path=str(build_dir / "dashboard-live.png"))
                shot = True
        return re.search(r"\[\d+\]", p["prompt"]) is not None

    L.wait_until(done, 120, "the training cell to finish", interval=0.15)

    counts = [max(p["counts"]) for p in seen if p["counts"]]
    increasing = sorted(set(counts))
    assert len(increasing) >= 3, f"chart did not grow while running: {counts}"
    assert counts == sorted(counts), f"point counts went down: {counts}"
    steps = [_step(p["step"]) for p in seen]
    assert len({s for s in steps if s > 0}) >= 3, f"step counter did not advance: {steps}"
    assert {p["status"] for p in seen} >= {"running"}

    # Frozen: the dashboard is gone, an image is there and shows.
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    img = cell.locator(".jp-OutputArea-output img")
    img.first.wait_for(timeout=30_000)
    L.wait_until(lambda: cell.locator(".nbm-dashboard").count() == 0, 30,
                 "the dashboard to be replaced")
    L.wait_until(lambda: img.first.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the snapshot image to load")
    cell.locator(".jp-OutputArea").screenshot(path=str(build_dir / "dashboard-frozen.png"))


def _restart_kernel(lab, page) -> None:
    """Restart the notebook's kernel through the Kernel menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel")).first.click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    L.wait_until(lambda: page.locator(".jp-Dialog").count() == 0, 30, "the dialog to close")


def test_hostile_names_stay_text_and_snapshot_survives_restart(lab, page, build_dir):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    nb = training_notebook(5, f"--name '{HOSTILE_NAME}'", extra_log=HOSTILE_METRIC)
    write(nb, lab.root / "hostile.ipynb")
    L.open_notebook(page, lab.url, "hostile.ipynb")
    for i in (0, 1):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)
    L.run_cell(page, TRAIN)
    dash = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN).locator(".nbm-dashboard")
    L.wait_until(lambda: dash.count() and HOSTILE_METRIC in dash.first.inner_text(), 60,
                 "the hostile metric name to show as text in the legend")
    text = dash.first.inner_text()
    assert HOSTILE_NAME in text, "the run name should show literally in the header"
    assert dash.first.locator('img[src="x"]').count() == 0, "markup was interpreted"
    assert dash.first.evaluate(
        "d => [...d.querySelectorAll('b')].every(b => b.textContent !== 'run')"), \
        "the run name's <b> became an element"
    L.wait_done(page, TRAIN, timeout=120)

    # Save, restart the kernel, reload: the saved snapshot shows, no widget error.
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    cell.locator(".jp-OutputArea-output img").first.wait_for(timeout=30_000)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+s")
    saved = lab.root / "hostile.ipynb"
    L.wait_until(lambda: "image/png" in saved.read_text(), 30, "the notebook to be saved")
    _restart_kernel(lab, page)
    L.open_notebook(page, lab.url, "hostile.ipynb")
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    img = cell.locator(".jp-OutputArea-output img").first
    img.wait_for(timeout=30_000)
    L.wait_until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the saved snapshot to load")
    body = page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in body
    assert "Cannot display" not in body
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == []
    assert page.evaluate("() => window.__pwned") is None
    cell.locator(".jp-OutputArea").screenshot(path=str(build_dir / "snapshot-reopened.png"))
