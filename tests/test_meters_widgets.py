"""The meters area and the frozen snapshot render what the sampler recorded."""
from __future__ import annotations

import base64
import time

from .fake_nvml import GIB, FakeNvml
from nbmonitor.meters import NO_GPU, NvmlMeter, Sampler, SystemMeter, TorchCudaMeter
from nbmonitor.run import Run
from nbmonitor.snapshot import bundle, summary_text
from nbmonitor.widgets.dashboard import Dashboard
from nbmonitor.widgets.meters import RED, MetersPanel, render_meters, sparkline
from .test_meters import _fake_torch


def _sampled_run(samples: int = 30) -> tuple[Run, FakeNvml]:
    """A run with 2 fake GPUs (gpu1 near its limits), system meters and losses."""
    run, nv = Run("meters"), FakeNvml(2)
    nv.gpus[1].used, nv.gpus[1].temp = 78 * GIB, 91.0
    clock = iter(time.time() - samples + k for k in range(10 * samples))
    sampler = Sampler(run, [NvmlMeter(nv, visible=None), SystemMeter(),
                            TorchCudaMeter(_fake_torch()), NvmlMeter(FakeNvml(0))],
                      clock=lambda: next(clock))
    for k in range(samples):
        run.step = 10 * k
        nv.gpus[0].util = float(k % 100)
        run.log("loss", 1.0 / (k + 1))
        sampler.sample()
    return run, nv


def test_render_has_a_row_per_gpu_and_system_with_sparklines():
    run, _ = _sampled_run()
    html = render_meters(run)
    assert html.count('class="nbm-gpu"') == 2 and 'class="nbm-sys"' in html
    assert "GPU0" in html and "GPU1" in html and "CPU" in html and "RAM" in html
    assert html.count("<polyline") >= 5  # util + mem per GPU, cpu/ram
    assert "78.0 GB / 80.0 GB" in html and "200 / 700 W" in html
    assert "<b>torch</b> 1000 B alloc / 3.9 KB reserved" in html
    assert NO_GPU in html and 'class="nbm-meter-note"' in html
    gpu1 = html.split('class="nbm-gpu"')[2]
    assert f'color:{RED}">78.0 GB' in gpu1 and f'color:{RED}">91°C' in gpu1
    assert len(html) < 12_000  # small traffic: one HTML string per change


def test_sparkline_keeps_a_bounded_number_of_points():
    import numpy as np
    t = np.arange(10_000.0)
    svg = sparkline(t, np.sin(t) * 50 + 50, 100, "#000")
    assert svg.split('points="')[1].count(",") == 10_000  # sparkline draws what it is given...
    run = Run()
    for k in range(5000):
        run.buffer.append("sys/cpu", k, k % 100, time.time() - 5000 + k)
    html = render_meters(run, window=300, points=60)
    assert html.count(",") <= 2 * 60 + 5  # ...the panel gives it at most 60 points


def test_panel_redraws_only_on_change():
    run, nv = _sampled_run(5)
    panel = MetersPanel(run)
    panel.refresh()
    first = panel.widget.value
    assert "GPU1" in first
    panel._key = ("stale",)
    panel.widget.value = "sentinel"
    panel.refresh()
    assert panel.widget.value == first
    panel.widget.value = "sentinel"
    panel.refresh()  # nothing new in the buffer: untouched
    assert panel.widget.value == "sentinel"
    panel.widget.close()


def test_dashboard_shows_meters_between_controls_and_charts():
    run, _ = _sampled_run(5)
    dash = Dashboard(run)
    dash.refresh(1.0)
    kids = dash.widget.children
    assert kids.index(dash.meters.widget) == kids.index(dash.controls) + 1
    assert kids.index(dash.grid) == kids.index(dash.meters.widget) + 1
    assert list(dash.charts) == ["loss"]  # meter series are not charts
    assert "GPU0" in dash.meters.widget.value
    dash.close()


def test_dashboard_with_no_meters_shows_nothing_extra():
    run = Run()
    run.log("loss", 1.0)
    dash = Dashboard(run)
    dash.refresh(0.0)
    assert dash.meters.widget.value == ""
    dash.close()


def test_snapshot_summary_and_png_include_meters():
    run, _ = _sampled_run()
    run.finish("finished")
    text = summary_text(run)
    assert "gpu0: util" in text and "gpu1:" in text and "temp peak 91C" in text
    assert "system: ram" in text and "process rss" in text and NO_GPU in text
    data = bundle(run)
    png = base64.b64decode(data["image/png"])
    assert png[:4] == b"\x89PNG" and len(png) < 120_000
    plain = Run("plain")
    plain.log("loss", 1.0)
    plain.log("loss", 0.5)
    assert "gpu" not in summary_text(plain) and "system:" not in summary_text(plain)
