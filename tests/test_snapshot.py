"""The frozen snapshot: what replaces the live dashboard when a run ends."""
from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest

from nbmonitor.run import Run
from nbmonitor.session import Session
from nbmonitor.snapshot import OUTPUT_LIMIT, SVG_LIMIT, bundle, summary_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def typical_run(steps: int = 3000, extra: int = 0, name: str = "baseline") -> Run:
    rng = np.random.default_rng(0)
    run = Run(name)
    for i in range(steps):
        run.buffer.append("train/loss", i, 1 / (1 + i / 300) + 0.1 * rng.random())
        if i % 100 == 0:
            run.buffer.append("val_loss", i, 1 / (1 + i / 300))
            run.buffer.append("val_acc", i, 1 - 1 / (1 + i / 300))
            run.buffer.append("lr", i, 0.1 * 0.5 ** (i // 1000))
    for g in range(extra):
        for i in range(0, steps, 10):
            run.buffer.append(f"metric{g}", i, rng.normal())
    run.step = steps
    run.finish("finished")
    return run


def size(data: dict) -> int:
    return len(json.dumps(data).encode())


def test_typical_run_draws_quickly_into_a_small_png_and_summary():
    run = typical_run()
    t = time.perf_counter()
    data = bundle(run)
    elapsed = time.perf_counter() - t
    assert elapsed < 5.0, f"snapshot took {elapsed:.1f} s"  # ~0.5 s; generous bound
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG")
    assert size(data) <= OUTPUT_LIMIT
    text = data["text/plain"]
    assert "baseline" in text and "finished" in text and "steps 3,000" in text
    assert "duration" in text
    for metric in ("train/loss", "val_loss", "val_acc"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(metric))
        assert "last" in line and "best" in line
    lr = next(ln for ln in text.splitlines() if ln.strip().startswith("lr"))
    assert "last" in lr and "best" not in lr  # no direction: no "best"


def test_svg_only_when_small():
    small = Run("tiny")
    for i in range(50):
        small.buffer.append("loss", i, 1 / (i + 1))
    small.finish("finished")
    data = bundle(small)
    assert data["image/svg+xml"].lstrip().startswith("<?xml")
    assert len(data["image/svg+xml"].encode()) <= SVG_LIMIT
    assert "image/svg+xml" not in bundle(typical_run())


@pytest.mark.parametrize("extra", [20, 60])
def test_many_metrics_stay_under_the_output_limit(extra):
    data = bundle(typical_run(20_000, extra=extra))
    assert size(data) <= OUTPUT_LIMIT
    assert f"metric{extra - 1}" in data["text/plain"]  # every metric is in the text


def test_names_are_literal_in_text_and_image():
    run = Run("$x$ <b>run</b>")
    run.buffer.append("<img src=x onerror=alert(1)>", 0, 1.0)
    run.buffer.append("$\\alpha$", 0, 2.0)
    run.finish("finished")
    data = bundle(run)
    assert "<img src=x onerror=alert(1)>" in data["text/plain"]
    assert "$x$ <b>run</b>" in data["text/plain"]
    svg = data["image/svg+xml"]
    assert "<img" not in svg and "<b>" not in svg


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, data, raw=False, metadata=None):
        self.updates.append(data)


@pytest.fixture
def fake_display(monkeypatch):
    handle = FakeHandle()
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: handle)
    return handle


@pytest.mark.parametrize("exc, status", [(None, "finished"), (ValueError, "failed"),
                                         (KeyboardInterrupt, "interrupted")])
def test_session_freezes_however_the_run_ends(fake_display, exc, status):
    session = Session("frozen", frontend="widgets", print_capture=False, refresh_hz=50)
    with pytest.raises(exc) if exc else _nothing():
        with session as run:
            for i in range(30):
                run.log("loss", 1 / (i + 1), step=i)
            if exc:
                raise exc("boom")
    assert run.status == status
    (data,) = fake_display.updates
    assert "image/png" in data and WIDGET_VIEW not in data
    assert f"frozen ({run.id}): {status}" in data["text/plain"]
    assert size(data) <= OUTPUT_LIMIT
    assert session.view.widget.comm is None  # closed: nothing left in widget state


def test_keep_live_keeps_the_widget_view(fake_display):
    session = Session("live", frontend="widgets", print_capture=False, keep_live=True)
    with session as run:
        run.log("loss", 1.0, step=0)
    (data,) = fake_display.updates
    assert data[WIDGET_VIEW]["model_id"] == session.view.widget.model_id
    assert "image/png" in data and "text/plain" in data
    session.view.close()


def test_summary_text_of_a_failed_run_names_the_error():
    run = Run("x")
    run.buffer.append("loss", 0, float("nan"))
    run.finish("failed", "ValueError: boom")
    text = summary_text(run)
    assert "failed" in text and "ValueError: boom" in text and "nan" in text


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
