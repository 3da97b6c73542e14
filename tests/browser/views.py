"""Looking at the tuner and compare views as a person does: the JupyterLab theme,
gallery screenshots (``build/gallery/<view>-<state>-<theme>.png``), text contrast
measured from computed colours, console errors, a kernel restart."""
from __future__ import annotations

import re
from pathlib import Path

from . import labpage as L

GALLERY = Path(__file__).resolve().parents[2] / "build" / "gallery"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def theme(page) -> str:
    """``"light"`` or ``"dark"``: the theme JupyterLab shows now."""
    light = page.evaluate("() => document.body.getAttribute('data-jp-theme-light')")
    return "dark" if light == "false" else "light"


def set_theme(page, name: str) -> None:
    """Switch JupyterLab's theme through its Settings menu."""
    if theme(page) == name:
        return
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=THEMES[name]).first.click()
    L.wait_until(lambda: theme(page) == name, 30, f"the {name} theme")
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute


def shoot(locator, view: str, state: str, page) -> Path:
    """Screenshot ``locator`` into the gallery, named by the theme now."""
    GALLERY.mkdir(parents=True, exist_ok=True)
    path = GALLERY / f"{view}-{state}-{theme(page)}.png"
    locator.screenshot(path=str(path))
    return path


# WCAG contrast of each matching element's text (SVG fill or CSS colour) against
# the first opaque background behind it.
CONTRAST = """(sel) => {
  const rgba = s => { const m = s && s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const back = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c && c[3] > 0.99) return c; }
    return [255, 255, 255, 1]; };
  return [...document.querySelectorAll(sel)].filter(e => e.textContent.trim()).map(e => {
    const cs = getComputedStyle(e); const svg = e instanceof SVGElement;
    let fg = rgba(svg ? cs.fill : cs.color) || [0, 0, 0, 1];
    const bg = back(e); const a = fg[3] * parseFloat(cs.opacity || '1');
    fg = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
    const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return {text: e.textContent.trim().slice(0, 30), ratio: (l1 + 0.05) / (l2 + 0.05),
            where: (e.parentElement && e.parentElement.getAttribute('class')) || e.tagName,
            fill: svg ? cs.fill : cs.color};
  });
}"""


def low_contrast(page, selector: str, minimum: float = 4.5) -> list[dict]:
    """Texts under ``selector`` whose contrast is below ``minimum``."""
    return [c for c in page.evaluate(CONTRAST, selector) if c["ratio"] < minimum]


def console_errors(page) -> list[str]:
    """Collect the page's console errors and uncaught exceptions from now on."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def restart_kernel(page) -> None:
    """Restart the notebook's kernel through the Kernel menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel")).first.click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    L.wait_until(lambda: page.locator(".jp-Dialog").count() == 0, 30, "the dialog to close")


def save(page, cell, path: Path, marker: str) -> None:
    """Save the notebook (Ctrl+S) and wait until ``marker`` is in the file."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+s")
    L.wait_until(lambda: marker in path.read_text(), 30, "the notebook to be saved")


def images_shown(cell) -> bool:
    """True when every image of the cell's output has loaded."""
    imgs = cell.locator(".jp-OutputArea-output img")
    return imgs.count() > 0 and all(
        imgs.nth(i).evaluate("i => i.complete && i.naturalWidth > 0")
        for i in range(imgs.count()))
