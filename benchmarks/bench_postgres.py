"""Sweeps into PostgreSQL: trials per second and points per second with 3 workers.

``run()`` starts a throwaway PostgreSQL server (Debian's binaries, see
``tests/pg_server.py``; or uses ``url``), makes a study with a Tuner, and starts
``workers`` real ``python -m nbmonitor.worker`` processes on it, each with the
study's database as its run store (``--store`` = the same URL), heartbeats on:

- *trials*: short trials (``short_points`` steps of 3 series): trials/s over the span
  from the first trial's start to the last trial's end (Optuna's datetimes), so
  the workers' start-up is not counted;
- *points*: long trials (``long_points`` steps of ``loss`` and ``lr``, the objective
  every 1,000 steps): points stored per
  second over the span from the first run's start to the last run's end (the
  run rows), every stored point counted back from the store.

``python benchmarks/bench_postgres.py`` prints a markdown table.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]


def train(q: float = 1.0, points: int = 20, val_every: int = 1) -> float:
    """The workers' target: ``points`` steps of ``loss`` and ``lr``, ``val/loss``
    (the objective) every ``val_every`` steps."""
    import nbmonitor
    for i in range(points):
        nbmonitor.log(loss=q / (i + 1), lr=0.1 * q, step=i)
        if i % val_every == val_every - 1:
            nbmonitor.log(**{"val/loss": q * (1 + 1 / (i + 1))}, step=i)
    return q * (1 + 1 / points)


def _sweep(url: str, study: str, points: int, workers: int, trials: int,
           val_every: int = 1) -> dict[str, Any]:
    """Run ``workers`` worker processes of ``trials`` trials each; what they did."""
    from nbmonitor import Tuner
    import bench_postgres
    tuner = Tuner(bench_postgres.train, q=(0.5, 2.0), study_name=study, storage=url,
                  session={"meters": False, "store": url})
    tuner.values.update(points=points, val_every=val_every)
    tuner.worker_command()  # records the fixed values the workers train with
    args = [sys.executable, "-m", "nbmonitor.worker", study, "--storage", url, "--target",
            "bench_postgres:train", "--n-trials", str(trials), "--method", "random",
            "--no-meters", "--store", url]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]),
               NBMONITOR_FRONTEND="text")
    t0 = time.perf_counter()
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    errs = [p.communicate(timeout=1800)[1] for p in procs]
    wall = time.perf_counter() - t0
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a worker failed: {errs}")
    done = [t for t in tuner.study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    span = (max(t.datetime_complete for t in done)
            - min(t.datetime_start for t in done)).total_seconds()
    from nbmonitor.store import open_store
    store = open_store(url)
    ids = [t.user_attrs["run_id"] for t in done]
    rows = store.query("SELECT min(started) AS a, max(ended) AS b, count(*) AS n FROM runs "
                       "WHERE id = ANY(?)", (ids,))[0]
    stored = store.query("SELECT coalesce(sum(count), 0) AS n FROM series "
                         "WHERE run_id = ANY(?)", (ids,))[0]["n"]
    return {"trials": len(done), "span_s": span, "runs_span_s": rows["b"] - rows["a"],
            "stored_points": int(stored), "wall_s": wall}


def run(url: str | None = None, workers: int = 3, short_trials: int = 20,
        short_points: int = 20, long_trials: int = 2, long_points: int = 100_000
        ) -> list[dict[str, Any]]:
    """Both measurements; one dict each."""
    server = None
    if url is None:
        sys.path.insert(0, str(ROOT))
        from tests.pg_server import start
        server = start(fast=False)  # fsync on: what a real server pays
        url = server.database("bench")
    try:
        short = _sweep(url, "short", short_points, workers, short_trials)
        heavy = _sweep(url, "heavy", long_points, workers, long_trials, val_every=1000)
    finally:
        if server is not None:
            server.stop()
    return [
        {"case": f"{workers} workers x {short_trials} trials of {short_points} steps",
         "trials": short["trials"], "trials_per_s": round(short["trials"] / short["span_s"], 2),
         "points_per_s": round(short["stored_points"] / short["runs_span_s"]),
         "stored_points": short["stored_points"], "wall_s": round(short["wall_s"], 1)},
        {"case": f"{workers} workers x {long_trials} trials of {long_points:,} steps",
         "trials": heavy["trials"], "trials_per_s": round(heavy["trials"] / heavy["span_s"], 3),
         "points_per_s": round(heavy["stored_points"] / heavy["runs_span_s"]),
         "stored_points": heavy["stored_points"], "wall_s": round(heavy["wall_s"], 1)},
    ]


COLUMNS = ["case", "trials", "trials_per_s", "points_per_s", "stored_points", "wall_s"]


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                                       for c in COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs")
