"""What watching a model costs the caller: microseconds per call of a small numpy
model called bare, through ``nbmonitor.inference``, and instrumented by hand with
``prometheus_client`` (a Histogram ``time()`` block, a Counter per call and per
row, as one would write it), and the memory of a long session.

The three variants run in interleaved blocks (A B C A B C ...) in one process;
the table gives the median and range over the blocks of the time per call, and
the time added to a bare call. The wrapped variant runs with its worker thread
live (statistics, drift, series), which competes for the GIL like it would in use.
The memory part makes ``calls`` calls of the wrapped model and reads the RSS at
four checkpoints. ``python benchmarks/bench_inference.py [--quick]`` prints the
markdown tables.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (puts this checkout first on sys.path)
from common import fmt, md_table, rss_mb  # noqa: E402


def _model(batch: int) -> tuple[Any, Any]:
    import numpy as np
    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 4))
    x = rng.normal(size=(batch, 16))
    return (lambda a: a @ w), x


def _prometheus(model: Any) -> Any:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    reg = CollectorRegistry()
    lat = Histogram("model_latency_seconds", "latency", ["model"], registry=reg).labels("m")
    calls = Counter("model_requests", "calls", ["model"], registry=reg).labels("m")
    rows = Counter("model_rows", "rows", ["model"], registry=reg).labels("m")
    errors = Counter("model_errors", "errors", ["model", "type"], registry=reg)

    def call(x: Any) -> Any:
        calls.inc()
        try:
            with lat.time():
                out = model(x)
        except Exception as e:
            errors.labels("m", type(e).__name__).inc()
            raise
        rows.inc(len(out))
        return out
    return call


def _block(fn: Any, x: Any, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn(x)
    return (time.perf_counter() - t) / n * 1e6


def speed(blocks: int = 7, calls: int = 20_000, batch: int = 64) -> list[dict]:
    """Microseconds per call of each variant, interleaved blocks."""
    import nbmonitor
    model, x = _model(batch)
    mon = nbmonitor.inference(model, name="bench", store=False)
    variants = {"bare call": model, "nbmonitor.inference": mon,
                "prometheus_client by hand": _prometheus(model)}
    times: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for fn in variants.values():
            _block(fn, x, 1000)  # warm-up
        for _ in range(blocks):
            for name, fn in variants.items():
                times[name].append(_block(fn, x, calls))
                mon.sync()  # the worker catches up between blocks, as between bursts
    finally:
        mon.close()
    bare = statistics.median(times["bare call"])
    return [{"variant": k, "us": statistics.median(v), "min": min(v), "max": max(v),
             "added": statistics.median(v) - bare, "batch": batch} for k, v in times.items()]


def memory(calls: int = 2_000_000, batch: int = 64) -> list[dict]:
    """RSS after every quarter of ``calls`` wrapped calls (worker running)."""
    import nbmonitor
    model, x = _model(batch)
    mon = nbmonitor.inference(model, name="bench-mem", store=False)
    rows = []
    try:
        base = rss_mb()
        t = time.perf_counter()
        for q in range(1, 5):
            for _ in range(calls // 4):
                mon(x)
            rows.append({"calls": q * (calls // 4), "rss_mb": rss_mb() - base,
                         "queued": len(mon._queue), "s": time.perf_counter() - t})
        mon.sync()
        s = mon.summary()
        rows[-1].update(counted=s["requests"], unsampled=mon.unsampled, dropped=mon.dropped)
    finally:
        mon.close()
    return rows


def run(blocks: int = 7, calls: int = 20_000, memory_calls: int = 2_000_000) -> dict:
    return {"speed": speed(blocks, calls), "memory": memory(memory_calls)}


def markdown(result: dict) -> str:
    sp = md_table(["variant", "µs per call (median, min-max)", "added to a bare call (µs)"],
                  [[r["variant"], f"{fmt(r['us'])} ({fmt(r['min'])}-{fmt(r['max'])})",
                    fmt(r["added"]) if r["variant"] != "bare call" else "-"]
                   for r in result["speed"]], "lrr")
    mem = md_table(["calls", "RSS growth (MB)", "queued", "seconds"],
                   [[f"{r['calls']:,}", fmt(r["rss_mb"]), f"{r['queued']:,}", fmt(r["s"])]
                    for r in result["memory"]], "rrrr")
    last = result["memory"][-1]
    note = (f"All {last['counted']:,} calls counted; {last['unsampled']:,} without their "
            f"arrays (worker behind), {last['dropped']:,} dropped.")
    return f"{sp}\n\n{mem}\n\n{note}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    kw = dict(blocks=3, calls=5_000, memory_calls=200_000) if a.quick else {}
    print(markdown(run(**kw)))


if __name__ == "__main__":
    main()
