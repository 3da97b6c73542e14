"""notebooks/inference.ipynb in a real kernel (nbclient): the drift alert fires on
the shifted half of the stream, the late labels give an accuracy, /metrics counts
every call, and both live panels end as static snapshots."""
from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from .nbutil import display_data, execute, text

pytestmark = [pytest.mark.notebook, pytest.mark.framework]

ROOT = Path(__file__).resolve().parents[1]


def _cell(nb, starts: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts))


def _frozen(cell) -> dict:
    bundles = [d for d in display_data(cell) if "image/png" in d]
    assert len(bundles) == 1, [list(d) for d in display_data(cell)]
    data = bundles[0]
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
    return data


def test_inference_notebook(tmp_path):
    shutil.copy(ROOT / "notebooks" / "inference.ipynb", tmp_path / "inference.ipynb")
    nb = nbformat.read(str(tmp_path / "inference.ipynb"), as_version=4)
    execute(nb, tmp_path, timeout=300)

    stream = text(_cell(nb, "pending = []"))
    assert "drift/psi/x0" in stream and "drift/psi/x1" in stream, stream
    assert "drift/psi/x2" not in stream  # unshifted features stay quiet

    scraped = text(_cell(nb, "metrics = "))
    assert 'nbmonitor_inference_requests_total{model="blobs-clf"} 60.0' in scraped
    assert "nbmonitor_inference_accuracy" in scraped
    assert "'requests': 60" in scraped

    panel = _frozen(_cell(nb, "mon = nbmonitor.inference"))
    assert "calls 60" in panel["text/plain"] and "accuracy" in panel["text/plain"]
    assert "drift/psi/x0" in panel["text/plain"]  # the alert is listed
    assert re.search(r"outputs: predicted \d: [\d.]+%.*max_prob", panel["text/plain"])

    runs = display_data(_cell(nb, "mon.close()"))[0]["text/plain"]
    assert "blobs-clf" in runs and "finished" in runs

    cell = _frozen(_cell(nb, "%%monitor_inference"))
    assert "blobs-cell" in cell["text/plain"] and "calls 20" in cell["text/plain"]
