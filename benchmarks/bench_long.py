"""Long runs: memory for millions of points, and what one chart refresh costs.

Each case runs in its own process (``python benchmarks/bench_long.py CASE``), so its
peak RSS (``ru_maxrss``) is its own; growth is that peak over the RSS just before
the points arrive.

- ``extend``: ``steps`` steps into 4 series, fed by ``Series.extend`` in chunks of
  100,000 (the buffer's own cost, not a Python loop's); then a live dashboard of
  real bqplot widgets on a recording comm (what ipywidgets' own tests do): each
  refresh appends one point per series, then ``Dashboard.refresh`` draws 4 charts
  (views of at most 2,000 points, smoothing on). The bytes of one chart's refresh
  are the comm messages' JSON plus their binary buffers.
- ``log`` / ``log+store``: ``steps`` calls of ``nbmonitor.log`` with 4 metrics in a
  session (text frontend, meters off), store off or on (the writer drains to
  SQLite in a background thread; its final write is included in the time). The
  growth counts from inside the session to just before its exit; the session's
  start and exit (which imports what the final snapshot needs) are reported apart.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (fmt, fmt_range, md_table, peak_mb, rss_mb, signed, spread,  # noqa: E402
                    target)

NAMES = ("loss", "accuracy", "lr", "grad_norm")
TARGET_MB = 16.0
TARGET_MS = 5.0


class _RecordingComm:
    """Stands in for a kernel comm and keeps every message sent (see ipywidgets'
    ``widgets/tests/utils.py``)."""

    comm_id = "bench"
    kernel = "Truthy"
    sent: list = []

    def __init__(self, *args, **kwargs) -> None:
        pass

    def open(self, *args, **kwargs) -> None:
        pass

    def on_msg(self, *args, **kwargs) -> None:
        pass

    def close(self, *args, **kwargs) -> None:
        pass

    def send(self, data=None, metadata=None, buffers=None) -> None:
        size = len(json.dumps(data, default=str)) + sum(memoryview(b).nbytes
                                                        for b in buffers or ())
        _RecordingComm.sent.append(size)


def _record_comms() -> None:
    import comm
    import ipywidgets.widgets.widget as widget_mod
    comm.create_comm = lambda **kw: _RecordingComm()
    comm.get_comm_manager = lambda **kw: {}
    widget_mod.Widget.comm.klass = _RecordingComm


def _refresh(run, refreshes: int) -> dict:
    """Dashboard refresh cost with real widgets, one point appended per series first."""
    _record_comms()
    from nbmonitor.widgets.dashboard import Dashboard
    dash = Dashboard(run, max_points=2000)
    dash.refresh(0.0)  # builds the charts
    series = [run.buffer.series(n) for n in NAMES]
    chart = dash.charts[NAMES[0]]
    times, chart_times, chart_bytes, points = [], [], [], []
    for k in range(refreshes):
        step = series[0].last_step + 1
        for s in series:
            s.append(step, 0.5)
        t = time.perf_counter()
        dash.refresh(1.0)
        times.append((time.perf_counter() - t) * 1e3)
        # One chart alone: its view and its widget messages.
        series[0].append(step + 0.5, 0.5)
        _RecordingComm.sent.clear()
        t = time.perf_counter()
        view = series[0].view(2000)
        chart.update(NAMES[0], view, dash.smoothing.value)
        chart_times.append((time.perf_counter() - t) * 1e3)
        chart_bytes.append(sum(_RecordingComm.sent))
        points.append(len(view))
    return {"charts": len(dash.charts), "refresh_ms": spread(times),
            "per_chart_ms": spread([t / len(dash.charts) for t in times]),
            "chart_update_ms": spread(chart_times), "chart_bytes": statistics.median(chart_bytes),
            "chart_points": statistics.median(points), "refreshes": refreshes}


def case_extend(steps: int, refreshes: int = 20) -> dict:
    import numpy as np
    from nbmonitor.run import Run
    run = Run("long")
    series = [run.buffer.series(n) for n in NAMES]
    rng = np.random.default_rng(0)
    rss0 = rss_mb()
    t = time.perf_counter()
    chunk = 100_000
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        x = np.arange(start, start + n, dtype=np.float64)
        times = 1.8e9 + x * 1e-3
        for s in series:
            s.extend(x, rng.random(n), times)
    feed_s = time.perf_counter() - t
    peak = peak_mb()
    points = steps * len(NAMES)
    row = {"case": "extend", "steps": steps, "points": points, "feed_s": feed_s,
           "peak_growth_mb": peak - rss0, "mb_per_million": (peak - rss0) / points * 1e6,
           "buffer_mb": run.buffer.nbytes() / 1e6, "points_per_s": points / feed_s}
    row.update(_refresh(run, refreshes))
    return row


def case_log(steps: int, store: bool) -> dict:
    import nbmonitor
    tmp = tempfile.mkdtemp(prefix="nbm-bench-")
    rss_before = rss_mb()
    t = time.perf_counter()
    with nbmonitor.monitor(name="long", frontend="text", print_capture=False, meters=False,
                           store=(Path(tmp) / "runs.db") if store else False) as run:
        rss0 = rss_mb()  # the session's own fixed cost is reported apart
        log = nbmonitor.log
        for i in range(steps):
            v = i * 1e-7
            log(loss=v, accuracy=v, lr=v, grad_norm=v)
        logged_s = time.perf_counter() - t
        peak = peak_mb()  # before the exit, which imports what the snapshot needs
        rss_in = rss_mb()
    total_s = time.perf_counter() - t
    points = steps * len(NAMES)
    return {"case": "log+store" if store else "log", "steps": steps, "points": points,
            "feed_s": total_s, "logged_s": logged_s,
            "us_per_call": logged_s / steps * 1e6,
            "session_mb": rss0 - rss_before, "exit_mb": rss_mb() - rss_in,
            "peak_growth_mb": peak - rss0, "mb_per_million": (peak - rss0) / points * 1e6,
            "buffer_mb": run.buffer.nbytes() / 1e6, "points_per_s": points / total_s}


def measure(case: str, steps: int, refreshes: int = 20) -> dict:
    if case == "extend":
        return case_extend(steps, refreshes)
    return case_log(steps, store=case == "log+store")


def markdown(rows: list[dict]) -> str:
    """Two tables: memory per case, then the refresh cost."""
    mem, ref = [], []
    what = {"extend": "Series.extend, chunks of 100,000",
            "log": "nbmonitor.log(4 metrics), store off",
            "log+store": "nbmonitor.log(4 metrics), store on"}
    for r in rows:
        if "mb_per_million" not in r:
            mem.append([r.get("case", "?"), "-", "-", "-", "-", "-", "-", r.get("note", "")])
            continue
        note = (f"{fmt(r['us_per_call'])} µs per log call; outside the growth: session "
                f"start {signed(r['session_mb'])} MB, exit {signed(r['exit_mb'])} MB"
                if "us_per_call" in r else "")
        note += ("; " if note else "") + f"buffer holds {fmt(r['buffer_mb'])} MB"
        mem.append([what.get(r["case"], r["case"]), f"{r['steps']:,}", f"{r['points']:,}",
                    fmt(r["peak_growth_mb"]), fmt(r["mb_per_million"]),
                    target(r["mb_per_million"], TARGET_MB), fmt(r["points_per_s"]), note])
        if "refresh_ms" in r:
            ref.append([f"{r['points']:,} points in 4 series", r["charts"],
                        fmt_range(r["refresh_ms"]), fmt_range(r["per_chart_ms"]),
                        target(r["per_chart_ms"]["median"], TARGET_MS),
                        fmt_range(r["chart_update_ms"]), f"{r['chart_points']:,.0f}",
                        f"{r['chart_bytes']:,.0f}", r["refreshes"]])
    out = md_table(["feed", "steps", "points", "peak RSS growth MB", "MB per million points",
                    "target ≤ 16 MB", "points/s", "notes"], mem, "lrrrrlrl")
    if ref:
        out += "\n\n" + md_table(
            ["buffer", "charts", "Dashboard.refresh ms, median (range)",
             "ms per chart", "target ≤ 5 ms", "one chart: view + update ms",
             "points per series sent", "bytes one chart sends", "refreshes"], ref,
            "lrrrlrrrr")
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)))
