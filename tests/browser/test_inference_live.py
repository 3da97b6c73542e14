"""The live inference panel seen in JupyterLab, light and dark: its charts gain
points and its call counter advances while a stream runs; ``mon.close()``
replaces it with the static snapshot, which the saved notebook's HTML export
shows with no network."""
from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import labpage as L
from .notebooks import write
from .test_sharing import _images_loaded, _open_offline, to_html

pytestmark = pytest.mark.browser

SETUP = """\
import time
import numpy as np
import nbmonitor
rng = np.random.default_rng(0)
W = rng.normal(size=(5, 3))
model = lambda x: x @ W
mon = nbmonitor.inference(model, name="live-clf", reference=rng.normal(size=(2000, 5)),
                          window=300, refresh_hz=5)
mon"""

STREAM = """\
for i in range(240):
    x = rng.normal(size=(32, 5))
    if i >= 120:
        x[:, 0] += 2.0
    scores = mon(x)
    mon.feedback(np.where(rng.random(32) < 0.8, scores.argmax(1), rng.integers(0, 3, 32)))
    time.sleep(0.05)"""

CLOSE = "mon.close()"
STREAM_CELL, CLOSE_CELL = 1, 2

PANEL = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[0];
  const panel = cell && cell.querySelector('.nbm-inference');
  if (!panel) return null;
  const lines = [...panel.querySelectorAll('.nbm-chart svg path.line')].map(
      p => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length);
  const calls = panel.querySelector('.nbm-calls');
  return {lines, calls: calls ? calls.textContent : '',
          drift: !!panel.querySelector('table.nbm-drift'),
          confusion: !!panel.querySelector('table.nbm-confusion'),
          alert: !!panel.querySelector('.nbm-alert'),
          outputs: (panel.querySelector('.nbm-outputs') || {}).textContent || ''};
}"""


def _calls(text: str) -> int:
    m = re.search(r"calls\s+([\d,]+)", text or "")
    return int(m.group(1).replace(",", "")) if m else -1


def set_theme(page, dark: bool) -> None:
    """Switch JupyterLab's theme through the Settings menu."""
    name = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$")).first.click()
    want = "false" if dark else "true"
    L.wait_until(lambda: page.evaluate(
        "() => document.body.dataset.jpThemeLight") == want, 30, f"the {name} theme")


@pytest.fixture
def page(browser):
    """A page tall enough to show the whole panel."""
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


def test_inference_panel_live_then_frozen_and_exported(lab, page, build_dir, jupyter_env):
    gallery = build_dir / "gallery"
    gallery.mkdir(exist_ok=True)
    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell(STREAM), new_code_cell(CLOSE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    path = write(nb, lab.root / "inference-live.ipynb")
    L.open_notebook(page, lab.url, "inference-live.ipynb")
    L.run_cell(page, 0)
    L.wait_done(page, 0, timeout=120)
    panel = page.locator(".jp-Notebook .jp-CodeCell").nth(0).locator(".nbm-inference")
    panel.wait_for(timeout=60_000)
    L.run_cell(page, STREAM_CELL)

    seen, shots = [], set()

    def done():
        p = page.evaluate(PANEL, 0)
        running = "[*]" in L.prompt(page, STREAM_CELL)
        if p and running:
            seen.append(p)
            if "light" not in shots and _calls(p["calls"]) > 60:
                panel.screenshot(path=str(gallery / "inference-live-light.png"))
                shots.add("light")
                set_theme(page, dark=True)
            elif "dark" not in shots and "light" in shots and p["alert"]:
                panel.screenshot(path=str(gallery / "inference-live-dark.png"))
                shots.add("dark")
        return re.search(r"\[\d+\]", L.prompt(page, STREAM_CELL)) is not None

    L.wait_until(done, 180, "the stream cell to finish", interval=0.2)
    calls = [_calls(p["calls"]) for p in seen]
    assert len(set(calls)) >= 3, f"the call counter did not advance: {calls}"
    assert calls == sorted(calls), calls
    points = [max(p["lines"] or [0]) for p in seen]
    assert len(set(points)) >= 3 and points == sorted(points), points
    last = seen[-1]
    assert last["drift"] and last["confusion"] and last["alert"], last
    assert "predicted" in last["outputs"] and "max_prob" in last["outputs"], last
    assert shots == {"light", "dark"}, shots

    # Frozen: the panel is replaced by an image that loads.
    L.run_cell(page, CLOSE_CELL)
    L.wait_done(page, CLOSE_CELL, timeout=120)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(0)
    img = cell.locator(".jp-OutputArea-output img").first
    img.wait_for(timeout=30_000)
    L.wait_until(lambda: panel.count() == 0, 30, "the panel to be replaced")
    L.wait_until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the snapshot to load")
    cell.locator(".jp-OutputArea").screenshot(path=str(gallery / "inference-frozen-dark.png"))
    set_theme(page, dark=False)
    cell.locator(".jp-OutputArea").screenshot(path=str(gallery / "inference-frozen-light.png"))

    # Saved and exported to HTML: the snapshot shows with the network off.
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+s")
    L.wait_until(lambda: "image/png" in path.read_text(), 30, "the notebook to be saved")
    saved = nbformat.read(str(path), as_version=4)
    text = next(o["data"]["text/plain"] for o in saved.cells[0].outputs
                if "image/png" in o.get("data", {}))
    assert "nbmonitor inference live-clf" in text and "calls 240" in text
    assert "drift/psi/x0" in text
    out = to_html(path, jupyter_env)
    assert re.search(r'<img [^>]*src="data:image/png;base64,', out.read_text())
    _open_offline(page, out)
    images = _images_loaded(page)
    assert images and all(i["ok"] for i in images), images
    page.screenshot(path=str(gallery / "inference-export-light.png"), full_page=True)
