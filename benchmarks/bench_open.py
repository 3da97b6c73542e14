"""Opening a store: what ``PRAGMA quick_check`` (run once per process and file before
a run writes to a store) adds to opening it, by store size.

``run()`` returns one dict per size; ``python benchmarks/bench_open.py`` prints a
markdown table. Each store is filled through ``SqliteStore.write_batch`` with
random float64 values (8 bytes a point, the codec's worst case) in 10,000-point
chunks, then opened cold in a fresh ``SqliteStore`` with and without the check
(median of 3 opens each; the OS page cache is warm, as it is right after training).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbmonitor.store.sqlite import SqliteStore  # noqa: E402

SIZES = [1_000_000, 10_000_000]  # points in the store


def case(points: int, chunk: int = 10_000) -> dict:
    """Open times of a store of ``points`` points."""
    with tempfile.TemporaryDirectory(prefix="nbm-open-") as tmp:
        path = Path(tmp) / "runs.db"
        st = SqliteStore(path)
        st.insert_run({"id": "r", "name": "r", "status": "running", "started": 0.0})
        rng = np.random.default_rng(0)
        for start in range(0, points, chunk):
            pts = np.vstack([np.arange(start, start + chunk, dtype=float),
                             rng.random(chunk), 1.7e9 + np.arange(chunk) * 1e-3])
            st.write_batch("r", {}, [("loss", start, pts)], [])
        st._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        st.close()
        times = {}
        for check in (False, True):
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                SqliteStore(path, check=check).close()
                runs.append(time.perf_counter() - t0)
            times[check] = statistics.median(runs)
        return {"points": points, "file_mb": round(path.stat().st_size / 2 ** 20, 1),
                "open_ms": round(times[False] * 1e3, 1),
                "open_with_check_ms": round(times[True] * 1e3, 1),
                "check_ms_per_100mb": round((times[True] - times[False]) * 1e3
                                            / max(path.stat().st_size / 1e8, 1e-9), 1)}


def run(sizes: list[int] | None = None) -> list[dict]:
    """Every size."""
    return [case(n) for n in (sizes or SIZES)]


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
