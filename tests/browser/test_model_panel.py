"""The model panel seen in JupyterLab: with ``--watch`` the update-ratio heat strip
and the gradient-norm chart fill while the cell runs, in the light and the dark
theme, side by side in the chart grid's two columns as in the snapshot, the norm in
the snapshot's colour; then the frozen snapshot draws them."""
from __future__ import annotations

import re

import pytest

from nbmonitor.style import series_colors

from . import labpage as L
from .notebooks import training_notebook, write

pytestmark = pytest.mark.browser

TRAIN = 2

PANEL = """(i) => {
  const c = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];
  const m = c && c.querySelector('.nbm-model');
  if (!m || !m.children.length) return null;
  const heat = m.querySelector('.nbm-model-heat');
  const cells = heat ? heat.querySelectorAll('rect.heatmapcell').length : 0;
  const paths = [...m.querySelectorAll('.nbm-chart svg path')];
  const lines = paths.filter(p => (p.getAttribute('class') || '').includes('line')
      && (p.getAttribute('d') || '').length > 20);
  const kinds = paths.map(p => (p.getAttribute('class') || '-') + ':' + (p.getAttribute('d') || '').length);
  const ticks = heat ? [...heat.querySelectorAll('.axis text')].map(t => t.textContent) : [];
  const norm = m.querySelector('.nbm-chart');
  const box = e => e ? e.getBoundingClientRect() : null;
  const strokes = [...new Set(lines.map(p => getComputedStyle(p).stroke))];
  return {cells: cells, lines: lines.length, ticks: ticks, kinds: kinds.slice(0, 12),
          heat: heat && [box(heat).left, box(heat).top, box(heat).width],
          norm: norm && [box(norm).left, box(norm).top, box(norm).width], strokes: strokes};
}"""


def _theme(page, name: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$")).click()
    L.wait_until(lambda: page.evaluate(
        "(n) => document.body.dataset.jpThemeName === n", name), 30, f"the {name} theme")


def test_model_panel_fills_while_running_then_freezes(lab, page, build_dir):
    build_dir = build_dir / "gallery"
    build_dir.mkdir(exist_ok=True)
    write(training_notebook(40, "--name watched --watch --watch-every 5"),
          lab.root / "watch.ipynb")
    L.open_notebook(page, lab.url, "watch.ipynb")
    for i in (0, 1):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)
    L.run_cell(page, TRAIN)
    seen = []

    def filled():
        seen.append(page.evaluate(PANEL, TRAIN))
        p = seen[-1]
        return p and p["cells"] >= 3 and p["lines"] >= 1 and p

    try:
        panel = L.wait_until(filled, 25, "the model panel to fill")
    except AssertionError:
        page.locator(".nbm-model").first.screenshot(path=str(build_dir / "model-panel-fail.png"))
        raise AssertionError(f"the model panel did not fill: {[x for x in seen if x][-3:]}") from None
        raise AssertionError(f"model panel: {page.evaluate(PANEL, TRAIN)}") from None
    assert "0" in panel["ticks"] and "2" in panel["ticks"], "layers named by module path"
    # One row of the two-column grid: the heat strip, then the norm chart, as the
    # snapshot draws them; the norm in the one palette's colour.
    (hx, hy, hw), (nx, ny, nw) = panel["heat"], panel["norm"]
    assert abs(hy - ny) < 2 and nx > hx + hw - 2 and abs(hw - nw) < 2, panel
    rgb = "rgb({}, {}, {})".format(*(int(series_colors(["grad/norm"])["grad/norm"][i:i + 2], 16)
                                     for i in (1, 3, 5)))
    assert panel["strokes"] == [rgb], panel["strokes"]
    model = page.locator(".nbm-model").first
    model.screenshot(path=str(build_dir / "model-panel-live-light.png"))
    before = panel["cells"]
    L.wait_until(lambda: (page.evaluate(PANEL, TRAIN) or {}).get("cells", 0) > before, 60,
                 "more watched steps in the heat strip")
    _theme(page, "JupyterLab Dark")
    page.wait_for_timeout(500)
    model.screenshot(path=str(build_dir / "model-panel-live-dark.png"))
    L.wait_done(page, TRAIN, timeout=120)
    page.wait_for_timeout(500)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    img = cell.locator(".jp-OutputArea-output img")
    img.first.wait_for(timeout=30_000)
    L.wait_until(lambda: img.first.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the snapshot image to load")
    cell.locator(".jp-OutputArea").screenshot(path=str(build_dir / "model-panel-frozen-dark.png"))
    _theme(page, "JupyterLab Light")
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute
    cell.locator(".jp-OutputArea").screenshot(path=str(build_dir / "model-panel-frozen-light.png"))
