"""What meters cost: a CPU MLP's wall time with and without the sampler, and the
sampler's cost per reading.

Variants run in interleaved blocks (A B C A B C ...) in one process, and each
meter variant is compared with the no-meter block just before it; the table
gives the median of those ratios (this machine stalls at random for seconds,
which a plain mean would absorb). ``run()`` returns the rows; ``python
benchmarks/bench_meters.py`` prints them as a markdown table.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nbmonitor.meters import (NvmlMeter, Sampler, SystemMeter,  # noqa: E402
                              TorchCudaMeter, default_meters)
from nbmonitor.run import Run  # noqa: E402


def _mlp_block(torch: Any, model: Any, opt: Any, data: tuple, run: Run, steps: int) -> float:
    """Seconds for ``steps`` training steps of the MLP (advancing ``run.step``)."""
    X, y = data
    loss_fn = torch.nn.functional.cross_entropy
    t = time.perf_counter()
    for _ in range(steps):
        loss = loss_fn(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step += 1
    return time.perf_counter() - t


def _per_reading_us(fn: Any, n: int = 300) -> float:
    """Median microseconds of one call of ``fn`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def run(pairs: int = 5, steps: int = 600, threads: int = 1) -> list[dict]:
    """Rows: training-time ratios of meters at 1 Hz and 10 Hz, and µs per reading."""
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = (torch.randn(64, 784), torch.randint(0, 10, (64,)))
    run_ = Run("bench")
    _mlp_block(torch, model, opt, data, run_, steps // 4)  # warm-up
    variants = {"no meters": None, "meters, 1 Hz": 1.0, "meters, 10 Hz": 0.1}
    times: dict[str, list[float]] = {k: [] for k in variants}
    readings: dict[str, int] = {k: 0 for k in variants}
    for _ in range(pairs):
        for name, every in variants.items():
            sampler = Sampler(run_, default_meters(), every).start() if every else None
            times[name].append(_mlp_block(torch, model, opt, data, run_, steps))
            if sampler is not None:
                sampler.stop()
                readings[name] += sampler.readings
    base = times["no meters"]
    rows = []
    for name in variants:
        ratios = [t / b for t, b in zip(times[name], base)]
        rows.append({"what": f"MLP 784-256-10, batch 64, {threads} thread(s): {name}",
                     "value": round(statistics.median(ratios), 4), "unit": "x time",
                     "note": f"median step {statistics.median(times[name]) / steps * 1e3:.3f} ms,"
                             f" {readings[name]} readings, {pairs} blocks of {steps} steps"})
    probe = Run("probe")
    sampler = Sampler(probe, default_meters())
    meters = {"Sampler.sample, default meters (incl. buffer appends)": sampler.sample,
              "SystemMeter.read": SystemMeter().read,
              "NvmlMeter.read": NvmlMeter().read,
              "TorchCudaMeter.read": TorchCudaMeter().read}
    for name, fn in meters.items():
        rows.append({"what": name, "value": round(_per_reading_us(fn), 1), "unit": "µs",
                     "note": "median of 300 calls"})
    notes = [e.message for e in probe.events]
    rows[-4]["note"] += f"; meters said: {'; '.join(notes) or 'nothing'}"
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    out = ["| what | value | unit | note |", "|---|---:|---|---|"]
    out += [f"| {r['what']} | {r['value']} | {r['unit']} | {r['note']} |" for r in rows]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(run()))
