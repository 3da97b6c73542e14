"""Controls answer while the cell still trains: Stop in background mode, and in
the foreground on ipykernel 7.4 + JupyterLab 4.6 (comms over subshells, see
nbmonitor/widgets/routing.py), plus the learning-rate knob's readout."""
from __future__ import annotations

import re
import time

import pytest

from . import labpage as L
from .notebooks import training_notebook, write

pytestmark = pytest.mark.browser

TRAIN = 2


def _step(text: str | None) -> int:
    m = re.search(r"step\s+([\d,]+)", text or "")
    return int(m.group(1).replace(",", "")) if m else -1


def _start(lab, page, name: str, magic_line: str, seconds: float = 45) -> None:
    write(training_notebook(seconds, magic_line), lab.root / name)
    L.open_notebook(page, lab.url, name)
    for i in (0, 1):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)
    L.run_cell(page, TRAIN)
    L.wait_until(lambda: _step(L.probe(page, TRAIN)["step"]) > 5, 60, "training to start",
                 interval=0.1)


def _frozen_text(page) -> str:
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
    cell.locator(".jp-OutputArea-output img").first.wait_for(timeout=30_000)
    return cell.locator(".jp-OutputArea").inner_text()


def test_background_stop_ends_the_run_early(lab, page, build_dir):
    t0 = time.monotonic()
    _start(lab, page, "bg_stop.ipynb", "--background --name bg-stop")
    assert L.execution_count(page, TRAIN) is not None, "the cell returned at once"
    assert L.probe(page, TRAIN)["status"] == "running"
    page.locator(".nbm-dashboard .nbm-stop").first.click()
    L.wait_until(lambda: page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN)
                 .locator(".jp-OutputArea-output img").count() > 0, 30,
                 "the frozen snapshot after Stop")
    assert time.monotonic() - t0 < 60, "stopped well before the 45 s loop ended"
    page.locator(".jp-Notebook .jp-CodeCell").nth(TRAIN).locator(".jp-OutputArea").screenshot(
        path=str(build_dir / "controls-bg-stopped.png"))


def test_foreground_knob_and_stop_are_live(lab, page, build_dir):
    _start(lab, page, "fg_stop.ipynb", "--name fg-stop")
    t0 = time.monotonic()  # the 45 s loop started at most a few seconds ago
    dash = page.locator(".nbm-dashboard").first
    L.wait_until(lambda: dash.locator(".nbm-knob-lr").count() > 0, 30, "the lr knob")
    note = dash.locator(".nbm-controls-note").inner_text()
    assert "after the cell ends" not in note, note
    # Type a new lr into the knob's value box (a drag sends the same).
    readout = dash.locator(".nbm-knob-lr-value input").first
    readout.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("5.00e-3")
    page.keyboard.press("Enter")
    L.wait_until(lambda: dash.locator(".nbm-chart path.dot, .nbm-chart .dot").count() > 0,
                 20, "the control marker on the lr chart while the cell runs")
    dash.screenshot(path=str(build_dir / "controls-fg-knob.png"))
    assert "[*]" in L.prompt(page, TRAIN), "still running when the marker showed"
    dash.locator(".nbm-stop").click()
    t_click = time.monotonic()
    L.wait_done(page, TRAIN, timeout=30)
    assert time.monotonic() - t_click < 10 and time.monotonic() - t0 < 40, \
        "Stop ended the 45 s cell early"
    _frozen_text(page)  # the snapshot replaced the dashboard
