import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbmonitor.buffer import MetricsBuffer, Series, decimate

floats = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(st.lists(floats, min_size=1, max_size=3000), st.integers(10, 400))
@settings(max_examples=150, deadline=None)
def test_decimate_keeps_bucket_extremes_order_and_budget(values, max_points):
    v = np.array(values, dtype=np.float64)
    s = np.arange(len(v), dtype=np.float64)
    ds, dv, _ = decimate(s, v, s.copy(), max_points)
    assert len(ds) <= max_points
    assert np.all(np.diff(ds) > 0), "points stay in order, no duplicates"
    assert set(ds.tolist()) <= set(s.tolist())
    assert np.array_equal(dv, v[ds.astype(int)]), "values travel with their steps"
    if len(v) <= max_points:
        assert np.array_equal(dv, v)
        return
    assert ds[0] == 0 and ds[-1] == len(v) - 1
    nb = (max_points - 2) // 2
    edges = (np.arange(nb + 1) * len(v)) // nb
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = dv[(ds >= lo) & (ds < hi)]
        assert 1 <= len(inside) <= 4  # its extremes, plus the first/last point
        assert inside.min() == v[lo:hi].min()
        assert inside.max() == v[lo:hi].max()


def test_decimate_keeps_nan_visible():
    v = np.zeros(10_000)
    v[5_000] = np.nan
    s = np.arange(len(v), dtype=float)
    _, dv, _ = decimate(s, v, s, 100)
    assert np.isnan(dv).sum() == 1


@given(st.integers(1, 20_000))
@settings(max_examples=25, deadline=None)
def test_series_counts_and_view_budget(n):
    series = Series("x", full_cap=4096, history_cap=1024)
    for i in range(n):
        series.append(i, float(np.sin(i / 50.0)), 0.0)
    view = series.view(500)
    assert view.count == series.count == n
    assert len(view) <= 500
    assert np.all(np.diff(view.steps) > 0)
    assert view.steps[-1] == n - 1, "the newest point is always in the view"
    assert series.last_step == n - 1


def test_view_keeps_global_extremes_across_compaction():
    series = Series("x", full_cap=10_000, history_cap=2_000)
    rng = np.random.default_rng(0)
    values = rng.normal(size=300_000)
    values[1234] = 50.0  # a spike long folded into the history
    values[250_000] = -50.0
    for i, v in enumerate(values):
        series.append(i, float(v), 0.0)
    view = series.view(2000)
    assert view.values.max() == 50.0 and view.values.min() == -50.0
    assert view.count == 300_000


def test_memory_is_bounded_for_long_series():
    series = Series("x")
    for chunk in range(20):  # 2M points
        series.extend(np.arange(chunk * 100_000, (chunk + 1) * 100_000),
                      np.random.default_rng(chunk).normal(size=100_000))
    assert series.count == 2_000_000
    assert series.nbytes() < 16e6
    assert len(series.view(2000)) <= 2000


def test_eight_threads_appending_lose_nothing():
    buf = MetricsBuffer(full_cap=1 << 20)  # no folding: every point is kept
    n = 20_000

    def work(k):
        for i in range(n):
            buf.append("shared", i, float(k))
            buf.append(f"own{k}", i, float(i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared = buf.series("shared")
    assert shared.count == 8 * n
    _, v, _ = shared.arrays()
    assert len(v) == 8 * n
    assert np.bincount(v.astype(int)).tolist() == [n] * 8
    for k in range(8):
        s, v, _ = buf.series(f"own{k}").arrays()
        assert np.array_equal(v, np.arange(n))


def test_readers_during_appends_see_consistent_points():
    series = Series("x", full_cap=8192, history_cap=2048)
    stop = threading.Event()
    problems = []

    def read():
        while not stop.is_set():
            view = series.view(300)
            if len(view) and not np.array_equal(view.values, view.steps * 2):
                problems.append("value and step out of step")
            if len(view) > 300:
                problems.append("over budget")

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(100_000):
        series.append(i, 2.0 * i, 0.0)
    stop.set()
    reader.join()
    assert not problems
