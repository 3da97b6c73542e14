"""Helpers for looking at views as a person does, shared by the browser tests: the
JupyterLab theme, the window width, gallery screenshots, text contrast, clipped
controls and console errors.

Screenshots go to ``build/gallery/<view>-<state>-<theme>-<width>.png``.
"""
from __future__ import annotations

from pathlib import Path

from . import labpage as L

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "build" / "gallery"
WIDTHS = (700, 1600)
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def theme(page) -> str:
    """``"light"`` or ``"dark"``: the theme JupyterLab shows now."""
    light = page.evaluate("() => document.body.getAttribute('data-jp-theme-light')")
    return "dark" if light == "false" else "light"


def set_theme(page, name: str) -> None:
    """Switch JupyterLab to the ``light`` or ``dark`` theme through its Settings
    menu (the choice is saved in the lab's user settings, like a person's)."""
    if theme(page) == name:
        return
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=THEMES[name]).first.click()
    L.wait_until(lambda: theme(page) == name, 30, f"the {name} theme")
    page.wait_for_timeout(300)  # the theme's stylesheet applies after the attribute


def set_width(page, width: int, height: int = 1200) -> None:
    """Resize the browser window to ``width`` CSS pixels."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(300)  # JupyterLab lays out on resize


def shoot(locator, view: str, state: str, page) -> Path:
    """Screenshot ``locator`` into the gallery, named by the theme and width now."""
    GALLERY.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = GALLERY / f"{view}-{state}-{theme(page)}-{width}.png"
    locator.screenshot(path=str(path))
    return path


# WCAG contrast of each matching element's text colour (SVG fill or CSS color)
# against the first opaque background behind it.
CONTRAST = """(sel) => {
  const rgba = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const back = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c && c[3] > 0.99) return c; }
    return [255, 255, 255, 1]; };
  return [...document.querySelectorAll(sel)].filter(e => e.textContent.trim()).map(e => {
    const cs = getComputedStyle(e);
    const isSvg = e instanceof SVGElement;
    let fg = rgba(isSvg ? cs.fill : cs.color) || [0, 0, 0, 1];
    const op = parseFloat(cs.opacity || '1') * (isSvg ? parseFloat(cs.fillOpacity || '1') : 1);
    const bg = back(e); const a = fg[3] * op;
    fg = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
    const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return {text: e.textContent.trim().slice(0, 30), ratio: (l1 + 0.05) / (l2 + 0.05)};
  });
}"""


def contrasts(page, selector: str) -> list[dict]:
    """``[{text, ratio}]`` for every element with text matching ``selector``."""
    return page.evaluate(CONTRAST, selector)


# Controls whose content is cut: text wider than its box, or a box past the right
# edge of the output area; and sliders squeezed to a few pixels. Inside an element
# of class nbm-scroll (a table wider than the output scrolls) nothing counts.
CLIPPED = """(root) => {
  const box = document.querySelector(root); if (!box) return ['no ' + root];
  const right = box.getBoundingClientRect().right + 1;
  const out = [];
  box.querySelectorAll('button, .widget-label, .widget-readout, .widget-dropdown, .widget-text, .widget-slider, .nbm-chart')
    .forEach(e => { const r = e.getBoundingClientRect();
      if (r.width === 0 || e.closest('.nbm-scroll')) return;  // a table that scrolls
      const name = (e.className.baseVal ?? e.className) + ' ' + (e.textContent || '').trim().slice(0, 20);
      if (e.scrollWidth > e.clientWidth + 1 && e.tagName === 'BUTTON') out.push('text cut: ' + name);
      if (r.right > right) out.push('past the edge: ' + name);
      if (e.classList.contains('widget-slider') && r.width < 120) out.push('squeezed: ' + name);
    });
  return out;
}"""


def clipped(page, root: str) -> list[str]:
    """Descriptions of clipped or squeezed controls under ``root`` (empty: none)."""
    return page.evaluate(CLIPPED, root)


# Stricter than CLIPPED, for any view: text cut in a control (its scroll width
# past its box, or an ellipsis), selects and sliders squeezed, a row wider than the
# box it sits in, anything past the right edge of the root.
OVERFLOW = """(root) => {
  const box = document.querySelector(root); if (!box) return ['no ' + root];
  const right = box.getBoundingClientRect().right + 1;
  const out = [];
  const name = e => (e.className.baseVal ?? e.className).toString().split(' ').slice(0, 3)
    .join('.') + ' ' + (e.textContent || '').trim().slice(0, 20);
  const scrolled = e => { for (let p = e.parentElement; p && p !== box; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (p.matches('.nbm-scroll') || (!p.matches('.widget-box')
          && (o === 'auto' || o === 'scroll' || o === 'hidden'))) return true; }
    return false; };
  box.querySelectorAll('*').forEach(e => {
    const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) return;
    if (e.closest('.bqplot') || scrolled(e)) return;  // charts: their own SVG
    const cs = getComputedStyle(e);
    // A row of widgets (ipywidgets boxes scroll) wider than itself: a row overflowing.
    if (e.matches('.widget-box, .widget-inline-hbox') && !e.matches('.nbm-scroll')
        && e.scrollWidth > e.clientWidth + 1)
      out.push('row overflows: ' + name(e));
    if (e.matches('button, select, input, .widget-label, .widget-readout')
        && e.scrollWidth > e.clientWidth + 1)
      out.push('overflows: ' + e.tagName + ' ' + name(e) + (e.value !== undefined ?
        ' value=' + String(e.value).slice(0, 20) : ''));
    if (e.matches('button') && cs.textOverflow === 'ellipsis'
        && e.scrollWidth > e.clientWidth) out.push('text cut: ' + name(e));
    if ((e.matches('.widget-slider') && r.width < 120) || (e.matches('.slider-container')
        && r.width < 80) || (e.matches('select') && r.width < 60))
      out.push('squeezed: ' + name(e));
    if (r.right > right && cs.position !== 'fixed') out.push('past the edge: ' + name(e));
  });
  return [...new Set(out)];
}"""


def overflows(page, root: str, settle: float = 5.0) -> list[str]:
    """Descriptions of cut, squeezed or overflowing elements under ``root``, once
    the view has settled: bqplot redraws a resized chart 300 ms after the resize,
    so a list that stays non-empty for ``settle`` seconds is returned."""
    # bqplot lays out a resized chart only once it is on screen: look at each one,
    # as a person scrolling through the output would.
    for i in range(page.locator(f"{root} .bqplot.figure").count()):
        page.locator(f"{root} .bqplot.figure").nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(400)
    page.locator(root).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    found: list[str] = []
    try:
        L.wait_until(lambda: not found.__setitem__(slice(None), page.evaluate(OVERFLOW, root))
                     and not found, settle, "the view to settle", interval=0.25)
    except AssertionError:
        pass
    return found


# How much of the root's width the widest row of charts covers (0..1).
CHART_USE = """(root) => {
  const box = document.querySelector(root); if (!box) return 0;
  const rows = {};
  box.querySelectorAll('.bqplot.figure').forEach(f => { const r = f.getBoundingClientRect();
    if (r.width > 0) rows[Math.round(r.top)] = (rows[Math.round(r.top)] || 0) + r.width; });
  const widths = Object.values(rows);
  return widths.length ? Math.max(...widths) / box.getBoundingClientRect().width : 0;
}"""


def chart_use(page, root: str) -> float:
    """The share of ``root``'s width that its widest row of charts covers."""
    return page.evaluate(CHART_USE, root)


def console_errors(page) -> list[str]:
    """Start collecting the page's console errors and uncaught exceptions; returns
    the list they are appended to."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
