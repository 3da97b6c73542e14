"""The meters benchmark imports and returns rows (tiny run: a smoke test only)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.framework


def test_bench_meters_run_returns_rows():
    pytest.importorskip("torch")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_meters.py"
    spec = importlib.util.spec_from_file_location("bench_meters", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(pairs=1, steps=5)
    assert [r["unit"] for r in rows] == ["x time"] * 3 + ["µs"] * 4
    assert all(r["value"] > 0 for r in rows)
    assert bench.markdown(rows).startswith("| what |")
