"""Per-scalar logging cost: ``nbmonitor.log`` against the peers' logging calls.

One tool per process (``measure(name)``): open a run under a temporary directory,
warm up, then time ``reps`` blocks of ``n`` calls of ``log(step, value)`` (a
lambda around the tool's own call, the same shape for every tool, the floor
included) and read the RSS before and after those blocks. A slow tool makes fewer
calls (the block size follows a time budget), and its RSS growth per million
scalars is then extrapolated from the calls it made. ``close()`` (the final flush)
is timed apart.

``python benchmarks/bench_log.py NAME`` prints one tool's row as JSON.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt, fmt_range, md_table, peak_mb, rss_mb, spread, target  # noqa: E402
import peers  # noqa: E402

NBM = {  # variant -> (store on, pass the step explicitly)
    "nbmonitor": (False, False),
    "nbmonitor+store": (True, False),
    "nbmonitor+store+step": (True, True),
}
TOOLS = ["floor", *NBM, "livelossplot", "livelossplot+send", "trackio", "tensorboard",
         "wandb", "aim", "mlflow"]
CALLS = {"floor": "plain Python function call",
         "nbmonitor": "nbmonitor.log(loss=v), store off",
         "nbmonitor+store": "nbmonitor.log(loss=v), store on",
         "nbmonitor+store+step": "nbmonitor.log(step=i, loss=v), store on",
         **peers.CALLS}
TARGET_US = 1.0


def _noop(loss: float) -> None:
    pass


def _open(name: str, tmp: str) -> peers.Logger:
    if name == "floor":
        return peers.Logger(lambda step, v: _noop(loss=v), lambda: None)
    if name in NBM:
        import nbmonitor
        store, explicit = NBM[name]
        session = nbmonitor.monitor(name="bench", frontend="text", print_capture=False,
                                    store=(Path(tmp) / "runs.db") if store else False)
        session.__enter__()
        log = nbmonitor.log
        fn = ((lambda step, v: log(step=step, loss=v)) if explicit
              else (lambda step, v: log(loss=v)))
        return peers.Logger(fn, lambda: session.__exit__(None, None, None))
    return peers.open_logger(name, tmp)


def _block(log: Any, start: int, n: int) -> float:
    t = time.perf_counter()
    for i in range(start, start + n):
        log(i, i * 1e-7)
    return time.perf_counter() - t


def measure(name: str, budget: float = 20.0, reps: int = 7,
            max_calls: int = 1_000_000, tmp: str | None = None) -> dict:
    """One tool's row: µs per call (median, range over ``reps`` blocks) and RSS growth."""
    tmp = tmp or tempfile.mkdtemp(prefix="nbm-bench-")
    t_open = time.perf_counter()
    logger = _open(name, tmp)
    t_open = time.perf_counter() - t_open
    # Warm-up, doubling the block until it lasts 5% of the budget: also the estimate.
    step, n = 0, 1
    while True:
        dt = _block(logger.log, step, n)
        step += n
        if dt >= 0.05 * budget or n >= max_calls // 10:
            break
        n *= 2
    per_call = max(dt / n, 1e-8)
    n = int(min(max_calls / reps, max(1, 0.7 * budget / reps / per_call)))
    rss0 = rss_mb()
    times = []
    for _ in range(reps):
        times.append(_block(logger.log, step, n) / n * 1e6)
        step += n
    rss1 = rss_mb()
    t_close = time.perf_counter()
    logger.close()
    t_close = time.perf_counter() - t_close
    calls = reps * n
    return {"tool": name, "call": CALLS.get(name, name), "version": _version(name),
            "us": spread(times), "calls": calls, "warmup_calls": step - calls,
            "rss_mb_per_million": (rss1 - rss0) / calls * 1e6,
            "extrapolated": calls < 1_000_000, "peak_mb": peak_mb(), "rss_end_mb": rss1,
            "open_s": t_open, "close_s": t_close}


def _version(name: str) -> str:
    if name == "floor":
        return "-"
    if name in NBM:
        import nbmonitor
        return nbmonitor.__version__
    return peers.version(name.split("+")[0]) or "-"


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table, floor first, with the 1 µs target for nbmonitor."""
    floor = next((r["us"]["median"] for r in rows if r.get("tool") == "floor"), None)
    out = []
    for r in rows:
        if "us" not in r:
            out.append([r["tool"], CALLS.get(r["tool"], ""), r.get("version", "-"),
                        "-", "-", "-", "-", "-", r.get("note", "skipped")])
            continue
        med = r["us"]["median"]
        grow = fmt(r["rss_mb_per_million"], 3)
        if r["calls"] < 1000:  # RSS moves in allocator-sized steps: meaningless here
            grow = f"n/a (only {r['calls']:,} calls)"
        elif r["extrapolated"]:
            grow += f" (extrapolated from {r['calls']:,} calls)"
        else:
            grow += f" ({r['calls']:,} calls)"
        over = fmt(med / floor, 3) + "x" if floor else "-"
        tgt = target(med, TARGET_US) if r["tool"].startswith("nbmonitor") else "-"
        out.append([r["tool"], r["call"], r["version"], fmt_range(r["us"]), over, grow, tgt,
                    f"{r['close_s']:.2f}", f"open {r['open_s']:.1f} s; peak RSS "
                    f"{r['peak_mb']:.0f} MB" + (f"; {r['note']}" if r.get("note") else "")])
    head = ["tool", "call", "version", "µs per call, median (range)", "vs floor",
            "RSS growth, MB per million scalars", "target ≤ 1 µs", "close s", "notes"]
    return md_table(head, out, "lllrrrlrl")


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5.0)))
