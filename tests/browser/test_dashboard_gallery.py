"""The dashboard as a person sees it, in light and dark themes at 700 and 1600 px:
every control acts while the cell trains (smoothing, y scale), a series whose first
draw had one point gets ticks and a line, nothing is clipped, chart text reads in
the dark theme, the output keeps its height when the snapshot replaces the live
view, live and frozen show the same chart columns at the usual width and at 1600 px,
and the console stays free of errors. Screenshots go to build/gallery/."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from nbformat.v4 import new_code_cell, new_notebook

from nbmonitor.layout import COLUMNS

from . import gallery as G
from . import labpage as L
from .notebooks import SETUP, write

pytestmark = pytest.mark.browser

TRAIN = 2
CELL = """%%monitor --name gallery --total-steps 2000
nbmonitor.log(score=0.5)  # one point first: a header value until it changes
t0 = time.time()
while time.time() - t0 < 30:
    i = torch.randint(0, 512, (32,))
    out = model(X[i])
    loss = loss_fn(out, Y[i])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if int(time.time() * 10) % 15 == 0:
        nbmonitor.log(score=(out.argmax(1) == Y[i]).float().mean().item(),
                      margin=(out.max(1).values - out.min(1).values).mean().item())
    time.sleep(0.03)
"""

# Per chart title: visible lines, and the pixel gaps between y ticks.
CHARTS = """() => Object.fromEntries([...document.querySelectorAll('.nbm-dashboard .nbm-chart')].map(c => {
  const title = (c.querySelector('.mainheading') || {}).textContent || '';
  const lines = [...c.querySelectorAll('path.line')].filter(p => !p.closest('.g_legend')).filter(p => {
    for (let e = p; e && e !== c; e = e.parentElement) {
      const s = getComputedStyle(e); if (s.display === 'none' || s.visibility === 'hidden') return false; }
    return (p.getAttribute('d') || '').length > 0; });
  const ys = [...c.querySelectorAll('.axis')].filter(a => a.querySelector('.tick') &&
      /translate\\(0/.test(a.querySelector('.tick').getAttribute('transform') || ''))
    .flatMap(a => [...a.querySelectorAll('.tick')].map(t =>
      parseFloat((t.getAttribute('transform').match(/,\\s*([-\\d.]+)/) || [0, 0])[1])));
  const xs = [...c.querySelectorAll('.axis .tick text')].length;
  ys.sort((a, b) => a - b);
  const gaps = ys.slice(1).map((y, i) => y - ys[i]);
  return [title, {lines: lines.length, points: lines.map(p => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length),
                  gaps, ticks: xs}];
}))"""


# Columns of the live metric grid: the distinct left edges of its charts.
LIVE_COLUMNS = """() => new Set([...document.querySelectorAll('.nbm-dashboard .nbm-chart')]
  .filter(c => !c.closest('.nbm-model'))
  .map(c => Math.round(c.getBoundingClientRect().left))).size"""
USUAL = 1280  # the browser width of a notebook as usually seen (the tests' default)


def image_columns(png: bytes) -> int:
    """Columns of charts in the snapshot as shown: each chart's frame has a dark
    left and right edge (long vertical runs of grey-black pixels; curves are
    coloured, grid lines light), and every edge lines up with its column's."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    grey = rgb.max(axis=2) - rgb.min(axis=2) < 40
    ink = np.where(grey, 255 - rgb.max(axis=2), 0)
    dark = ink[:, :-1] + ink[:, 1:] > 110  # a scaled 1 px edge may span two columns
    runs = np.zeros(dark.shape[1], int)
    for x in range(dark.shape[1]):
        best = cur = 0
        for v in dark[:, x]:
            cur = cur + 1 if v else 0
            best = max(best, cur)
        runs[x] = best
    edges = np.flatnonzero(runs >= 0.5 * runs.max())
    groups = 1 + int(np.sum(np.diff(edges) > 3)) if len(edges) else 0
    return groups // 2


def notebook():
    nb = new_notebook(cells=[new_code_cell("%load_ext nbmonitor"), new_code_cell(SETUP),
                             new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    return nb


def charts(page) -> dict:
    return page.evaluate(CHARTS)


def output_height(page) -> float:
    return page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN).locator(
        ".jp-OutputArea").bounding_box()["height"]


def running(page) -> bool:
    return "[*]" in L.prompt(page, TRAIN)


def test_dashboard_in_both_themes_and_widths(lab, page):
    errors = G.console_errors(page)
    G.set_width(page, 1600)
    write(notebook(), lab.root / "gallery.ipynb")
    L.open_notebook(page, lab.url, "gallery.ipynb")
    G.set_theme(page, "light")
    for i in (0, 1):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)
    L.run_cell(page, TRAIN)
    dash = page.locator(".nbm-dashboard").first
    L.wait_until(lambda: max(charts(page).get("loss", {}).get("points", [0]) or [0]) > 60,
                 90, "the loss chart to fill")
    assert "lr" not in charts(page) and "lr" in dash.locator(".nbm-header").inner_text()
    G.shoot(dash, "dashboard", "live", page)

    # Smoothing acts while the cell runs: at 0 the faint raw curve goes away.
    assert charts(page)["loss"]["lines"] == 2
    readout = dash.locator(".nbm-smoothing .widget-readout").first
    readout.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    L.wait_until(lambda: charts(page)["loss"]["lines"] == 1, 20, "smoothing 0 to act")
    assert running(page), "smoothing acted only after the cell ended"

    # The y scale acts while the cell runs: log spacing of the y ticks.
    gaps = charts(page)["loss"]["gaps"]
    assert len(gaps) >= 2 and max(gaps) / min(gaps) < 1.05, gaps  # linear: even gaps
    dash.locator(".nbm-yscale select").select_option(label="log y")
    L.wait_until(lambda: (g := charts(page)["loss"]["gaps"]) and max(g) / min(g) > 1.1, 20,
                 "log y to act")
    assert running(page), "log y acted only after the cell ended"

    # A series whose first draw had one point: a chart with ticks and a line.
    L.wait_until(lambda: "score" in charts(page), 40, "the score chart")
    L.wait_until(lambda: max(charts(page)["score"]["points"] or [0]) >= 2
                 and charts(page)["score"]["ticks"] >= 4, 30, "score ticks and a line")

    # As many live chart columns as the snapshot draws, at the usual width and at 1600
    # px (three charts: two rows); one column where two would not be readable.
    L.wait_until(lambda: "margin" in charts(page), 40, "the margin chart")
    live_columns = {}
    for width in (700, USUAL, 1600):
        G.set_width(page, width)
        live_columns[width] = page.evaluate(LIVE_COLUMNS)
    print(f"live chart columns by width: {live_columns}")
    assert live_columns[USUAL] == live_columns[1600] == COLUMNS, live_columns
    assert live_columns[700] == 1, live_columns

    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("dark", "light"):
            G.set_theme(page, theme)
            G.shoot(dash, "dashboard", "live", page)
            assert G.clipped(page, ".nbm-dashboard") == [], (width, theme)
            if theme == "dark":
                low = [c for c in G.contrasts(page, ".nbm-dashboard .nbm-chart .tick text, "
                                              ".nbm-dashboard .nbm-chart .mainheading, "
                                              ".nbm-dashboard .nbm-chart .legendtext, "
                                              ".nbm-dashboard .nbm-header span")
                       if c["ratio"] < 4.5]
                assert low == [], low
    assert running(page), "the views were looked at while the cell ran"

    # Freeze: one swap, and the output does not shrink.
    G.set_width(page, 1600)
    heights = []
    L.wait_until(lambda: heights.append(output_height(page)) or not running(page),
                 90, "the cell to end", interval=0.1)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    img = cell.locator(".jp-OutputArea-output img").first
    img.wait_for(timeout=30_000)
    L.wait_until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 30,
                 "the snapshot to load")
    live = max(h for h in heights[:-3]) if len(heights) > 3 else heights[0]
    frozen = output_height(page)
    print(f"output height live {live:.0f} px, frozen {frozen:.0f} px")
    # the output does not shrink, nor grow much (snapshot rows are as tall as live ones)
    assert live <= frozen <= 1.2 * live, (live, frozen)
    for width in (USUAL, 1600):  # the same columns frozen as live
        G.set_width(page, width)
        frozen_columns = image_columns(img.screenshot())
        print(f"snapshot chart columns at {width} px: {frozen_columns}")
        assert frozen_columns == live_columns[width], (width, frozen_columns, live_columns)
    for width in G.WIDTHS:
        G.set_width(page, width)
        for theme in ("light", "dark"):
            G.set_theme(page, theme)
            G.shoot(cell.locator(".jp-OutputArea"), "dashboard", "frozen", page)
    G.set_theme(page, "light")
    bad = [e for e in errors if "favicon" not in e]
    assert bad == [], bad
