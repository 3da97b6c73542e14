"""Driving a notebook in JupyterLab 4 through Playwright: open, run a cell, read
its prompt. Everything polls with a deadline; nothing sleeps a fixed time."""
from __future__ import annotations

import re
import time

# Point counts of every bqplot line in the dashboard, the header's step and
# status, and the prompt of the given cell, read in one round trip.
PROBE = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
  if (!cell) return null;
  const prompt = cell.querySelector('.jp-InputPrompt');
  const dash = cell.querySelector('.nbm-dashboard');
  const counts = dash ? [...dash.querySelectorAll('.nbm-chart svg path.line')].map(
      p => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length) : [];
  const txt = sel => { const e = dash && dash.querySelector(sel); return e ? e.textContent : null; };
  return {prompt: prompt ? prompt.textContent.trim() : '', dashboard: !!dash,
          counts, step: txt('.nbm-step'), status: txt('.nbm-status')};
}"""


def wait_until(fn, timeout: float, what: str, interval: float = 0.2):
    """Call ``fn`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def open_notebook(page, lab_url: str, name: str) -> None:
    """Open ``name`` in a fresh workspace and wait for an idle kernel."""
    page.goto(f"{lab_url}/lab/tree/{name}?reset")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
    wait_until(lambda: page.evaluate(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " return !!s && /idle/i.test(s.getAttribute('data-status') || '')}") or
        page.locator(".jp-Toolbar-kernelStatus, .jp-Notebook-ExecutionIndicator").count() == 0,
        90, "an idle kernel")


def prompt(page, index: int) -> str:
    return page.evaluate(
        "(i) => { const c = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i];"
        " const p = c && c.querySelector('.jp-InputPrompt'); return p ? p.textContent.trim() : ''}",
        index)


def execution_count(page, index: int) -> int | None:
    m = re.search(r"\[(\d+)\]", prompt(page, index))
    return int(m.group(1)) if m else None


def run_cell(page, index: int, attempts: int = 4) -> None:
    """Focus cell ``index`` and press Shift+Enter until its prompt shows [*] or a
    new number (the first key press is sometimes ignored)."""
    before = prompt(page, index)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    for _ in range(attempts):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            wait_until(lambda: (p := prompt(page, index)) != before and
                       re.search(r"\[(\*|\d+)\]", p), 5, "the cell to start")
            return
        except AssertionError:
            continue
    raise AssertionError(f"cell {index} did not start after {attempts} Shift+Enter")


def wait_done(page, index: int, timeout: float = 120) -> int:
    """Wait until cell ``index`` shows an execution number; return it."""
    return wait_until(lambda: execution_count(page, index), timeout,
                      f"cell {index} to finish")


def probe(page, index: int) -> dict:
    return page.evaluate(PROBE, index)
