"""What a person sees when Stop meets a loop with no stop point (the header says it
waits, the run ends ``finished``) and a log-only loop (Stop ends it: ``stopped``),
in JupyterLab's light and dark themes."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from . import labpage as L
from .notebooks import write

pytestmark = pytest.mark.browser

NO_STOP_POINT = """%%monitor --background --name no-stop-point
t0 = time.time()
while time.time() - t0 < 12:
    time.sleep(0.05)
"""
LOG_ONLY = """%%monitor --background --name log-only
for i in range(100000):
    time.sleep(0.02)
    nbmonitor.log(loss=1.0 / (i + 1))
"""
REPORT = """r = nbmonitor.wait()
print("|", r.name, r.status, any(e.data.get("honoured") is False for e in r.events))
"""
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def _settings_dir(lab) -> Path:
    arg = next(a for a in lab.proc.args if a.startswith("--LabApp.user_settings_dir="))
    return Path(arg.split("=", 1)[1])


@pytest.fixture
def theme(lab, request):
    """JupyterLab's theme for this test (restored to the default afterwards)."""
    path = _settings_dir(lab) / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": THEMES[request.param]}))
    try:
        yield request.param
    finally:
        path.unlink(missing_ok=True)


def _cell(page, index):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


def _report(page, index) -> str:
    L.run_cell(page, index)
    L.wait_done(page, index, timeout=60)
    text = _cell(page, index).locator(".jp-OutputArea").inner_text()
    return text.rsplit("| ", 1)[-1].strip()


def _frozen(page, index, timeout):
    L.wait_until(lambda: _cell(page, index).locator(".jp-OutputArea-output img").count() > 0,
                 timeout, f"the frozen snapshot of cell {index}")
    return _cell(page, index).locator(".jp-OutputArea").inner_text()


@pytest.mark.parametrize("theme", ["light", "dark"], indirect=True)
def test_stop_waits_for_a_stop_point_then_stops_a_log_loop(lab, page, build_dir, theme):
    nb = new_notebook(cells=[new_code_cell("%load_ext nbmonitor"),
                             new_code_cell("import time\nimport nbmonitor"),
                             new_code_cell(NO_STOP_POINT), new_code_cell(REPORT),
                             new_code_cell(LOG_ONLY), new_code_cell(REPORT)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    name = f"stop_points_{theme}.ipynb"
    write(nb, lab.root / name)
    L.open_notebook(page, lab.url, name)
    dark = page.evaluate("() => document.body.dataset.jpThemeLight")
    assert dark == ("false" if theme == "dark" else "true")
    for i in (0, 1):
        L.run_cell(page, i)
        L.wait_done(page, i, timeout=120)

    # A loop with no stop point: Stop waits, and the header says so.
    L.run_cell(page, 2)
    L.wait_until(lambda: L.probe(page, 2)["status"] == "running", 60, "the run to start")
    dash = _cell(page, 2).locator(".nbm-dashboard")
    dash.locator(".nbm-stop").click()
    L.wait_until(lambda: L.probe(page, 2)["status"] == "stopping", 20, "status stopping")
    note = dash.locator(".nbm-note").inner_text()
    assert "has given none yet" in note, note
    dash.screenshot(path=str(build_dir / f"stops-waiting-{theme}.png"))
    _frozen(page, 2, 40)
    assert _report(page, 3) == "no-stop-point finished True"

    # A log-only loop: the next nbmonitor.log call ends it.
    L.run_cell(page, 4)
    L.wait_until(lambda: L.probe(page, 4)["status"] == "running"
                 and len(L.probe(page, 4)["counts"]) > 0, 60, "the log loop to chart")
    t_click = time.monotonic()
    _cell(page, 4).locator(".nbm-dashboard .nbm-stop").click()
    _frozen(page, 4, 30)
    assert time.monotonic() - t_click < 30
    assert _report(page, 5) == "log-only stopped False"
    _cell(page, 4).locator(".jp-OutputArea").screenshot(
        path=str(build_dir / f"stops-log-stopped-{theme}.png"))
