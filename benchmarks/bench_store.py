"""Store throughput and size: points per second written and bytes per point on disk.

``run()`` returns one dict per case; ``python benchmarks/bench_store.py`` prints a
markdown table. Each case logs points into a run through the real path (buffer,
drain log, background writer, SQLite in WAL mode) and times until the final
write is committed. ``bytes_per_point`` is the file's size once the WAL is
checkpointed and the file vacuumed (no free pages) over the points written;
``writer_ns_per_point`` the CPU time of the writer's flushes (drain, encoding,
SQLite) per point. Values are uniform random float64, the worst case of the
encoding (8 bytes a point); steps count 0, 1, 2...; times are ~1 ms apart.
"""
from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbmonitor.run import Run  # noqa: E402
from nbmonitor.store import SqliteStore  # noqa: E402
from nbmonitor.store.writer import StoreWriter  # noqa: E402

CASES = [(1, 1_000_000), (10, 100_000), (100, 10_000)]  # (series, points per series)


def _size(path: Path) -> int:
    """The store's size on disk, WAL checkpointed and free pages vacuumed away."""
    c = sqlite3.connect(path)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute("VACUUM")
    c.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def case(n_series: int, n_points: int, bulk: bool = True) -> dict:
    """Write ``n_series`` x ``n_points`` points; throughput and bytes per point."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "runs.db"
        store = SqliteStore(path)
        run = Run("bench")
        writer = StoreWriter(store, run, {})
        writer.start()
        rng = np.random.default_rng(0)
        names = [f"train/metric{i}" for i in range(n_series)]
        t0 = time.perf_counter()
        if bulk:  # the writer's own cost, not the Python append loop's
            steps = np.arange(n_points, dtype=np.float64)
            for name in names:
                run.buffer.series(name).extend(steps, rng.random(n_points),
                                               time.time() + steps * 1e-3)
        else:
            series = [run.buffer.series(n) for n in names]
            for i in range(n_points):
                for s in series:
                    s.append(i, 0.5)
        t_logged = time.perf_counter() - t0
        run.finish("finished")
        writer.close()
        total = time.perf_counter() - t0
        store.close()
        n = n_series * n_points
        return {"series": n_series, "points": n, "mode": "extend" if bulk else "append",
                "log_s": round(t_logged, 3), "total_s": round(total, 3),
                "points_per_s": int(n / total), "bytes_per_point": round(_size(path) / n, 1),
                "writer_ns_per_point": round(writer.cpu_s / n * 1e9)}


def run() -> list[dict]:
    """Every case, bulk and per-point appends."""
    out = [case(s, p) for s, p in CASES]
    out.append(case(1, 300_000, bulk=False))
    out.append(case(10, 30_000, bulk=False))
    return out


def main() -> None:
    rows = run()
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                                for c in cols) + " |")
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
