"""Through a real kernel: a %%monitor cell records meters at training steps."""
from __future__ import annotations

import json
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.notebook

TRAIN = """\
import time, nbmonitor
for step in range(1, 31):
    nbmonitor.log(loss=1.0 / step, step=step)
    time.sleep(0.02)
"""

REPORT = """\
import json, threading
from nbmonitor.meters import sampler_threads
r = nbmonitor.last_run()
out = {{"names": r.buffer.names(),
        "steps": {{n: r.buffer.series(n).arrays()[0].tolist() for n in r.buffer.names()}},
        "events": [e.message for e in r.events if e.kind == "meter"],
        "threads": [t.name for t in sampler_threads()]}}
print("{tag}" + json.dumps(out))
"""


def _result(cell, tag: str) -> dict:
    for o in cell.outputs:
        for line in o.get("text", "").splitlines():
            if line.startswith(tag):
                return json.loads(line[len(tag):])
    raise AssertionError(f"no {tag} output in {cell.outputs}")


def test_monitor_cell_records_meters_and_no_meters_records_none(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmonitor"),
                nbformat.v4.new_code_cell("%%monitor --name with-meters --sample-every 0.1\n"
                                          + TRAIN),
                nbformat.v4.new_code_cell(REPORT.format(tag="WITH:")),
                nbformat.v4.new_code_cell("%%monitor --name without --no-meters\n" + TRAIN),
                nbformat.v4.new_code_cell(REPORT.format(tag="WITHOUT:"))]
    monkeypatch.delenv("NBMONITOR_FRONTEND", raising=False)  # the kernel shows widgets
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(  # the kernel inherits it
        filter(None, [root, os.environ.get("PYTHONPATH")])))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    with_m = _result(nb.cells[2], "WITH:")
    assert {"sys/cpu", "sys/ram", "proc/rss"} <= set(with_m["names"])
    rss_steps = with_m["steps"]["proc/rss"]
    assert len(rss_steps) >= 3 and rss_steps == sorted(rss_steps) and rss_steps[-1] > 0
    assert len(with_m["steps"]["sys/cpu"]) >= 2
    assert not any(n.startswith("gpu") for n in with_m["names"])  # no driver here
    assert "no NVIDIA GPU found" in with_m["events"]
    assert with_m["threads"] == []
    frozen = [o for o in nb.cells[1].outputs if "image/png" in o.get("data", {})]
    assert frozen and "system:" in frozen[-1]["data"]["text/plain"]
    without = _result(nb.cells[4], "WITHOUT:")
    assert not any(n.startswith(("gpu", "sys/", "proc/")) for n in without["names"])
    assert without["events"] == [] and "loss" in without["names"]
