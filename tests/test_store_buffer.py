"""The drain log: every point reaches the consumer, in order, through compaction."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbmonitor.buffer import MetricsBuffer, Series


def drain_all(s: Series, chunks: list) -> None:
    start, pts = s.drain()
    assert start == sum(c.shape[1] for c in chunks)
    chunks.append(pts)


def test_drain_survives_compaction():
    s = Series("loss", full_cap=1024, history_cap=256, drain=True)
    got: list = []
    for i in range(50_000):
        s.append(i, float(i), float(i))
        if i % 7_777 == 0:
            drain_all(s, got)
    drain_all(s, got)
    pts = np.concatenate(got, axis=1)
    assert pts.shape == (3, 50_000)
    assert np.array_equal(pts[0], np.arange(50_000))
    assert len(s.arrays()[0]) < 5_000  # the buffer itself did compact


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 3000).map(lambda n: ("append", n)),
                          st.integers(1, 500).map(lambda n: ("extend", n)),
                          st.just(("drain", 0))), max_size=30))
def test_drain_is_exact_for_any_interleaving(ops):
    s = Series("x", full_cap=2048, history_cap=512, drain=True)
    n, got = 0, []
    for op, k in ops:
        if op == "append":
            for _ in range(k):
                s.append(n, n, n)
                n += 1
        elif op == "extend":
            s.extend(np.arange(n, n + k), np.arange(n, n + k), np.arange(n, n + k))
            n += k
        else:
            drain_all(s, got)
    drain_all(s, got)
    pts = np.concatenate(got, axis=1)
    assert np.array_equal(pts[0], np.arange(n)) and np.array_equal(pts[2], np.arange(n))


def test_buffer_without_drain_keeps_no_log():
    b = MetricsBuffer()
    b.append("a", 0, 1.0)
    assert b.series("a")._drain is None
    b.drain = True
    b.append("b", 0, 1.0)
    assert b.series("b").drain()[1].shape == (3, 1)
