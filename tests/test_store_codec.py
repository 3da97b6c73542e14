"""Chunk encoding: exact round trips, old float64 stores still read, bytes per point."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbmonitor.run import Run
from nbmonitor.store import SCHEMA_VERSION, SqliteStore
from nbmonitor.store import codec
from nbmonitor.store.schema import _V1
from nbmonitor.store.writer import StoreWriter

T0 = 1_750_000_000.123456  # a wall-clock time


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN payloads, -0.0)."""
    return a.shape == b.shape and np.array_equal(np.asarray(a, np.float64).view(np.int64),
                                                 np.asarray(b, np.float64).view(np.int64))


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
columns = st.one_of(
    hnp.arrays(np.float64, st.integers(1, 300), elements=floats),
    hnp.arrays(np.int64, st.integers(1, 300)).map(lambda a: a.astype(np.float64)),
    hnp.arrays(np.float32, st.integers(1, 300)).map(lambda a: a.astype(np.float64)),
    st.tuples(st.integers(-2**62, 2**62), st.integers(-2**40, 2**40),
              st.integers(1, 3000)).map(lambda t: (t[0] + t[1] * np.arange(t[2])).astype(
                  np.float64)),
    st.integers(1, 3000).map(lambda n: T0 + np.cumsum(np.random.default_rng(n).random(n))),
    st.integers(4097, 9000).map(lambda n: np.arange(n) % 7 / 7),  # compressible: zlib
)


@settings(max_examples=300, deadline=None)
@given(columns)
def test_codec_round_trip_is_bit_exact(x):
    assert same(codec.decode(codec.encode(x), len(x)), x)


@pytest.mark.parametrize("x, most", [
    (np.arange(100_000.0), 0.001),                     # steps 0, 1, 2...: a line
    (np.arange(0, 1e6, 10.0) + 7, 0.001),
    (np.full(1000, 3e-4), 0.1),                         # a constant learning rate
    (np.arange(10_000) / 1000, 1.0),                    # fractional epochs: zlib
    (np.arange(10_000.0).astype(np.float32) / 3, 4.0),  # float32 losses
    (T0 + np.arange(10_000) * 1e-3, 2.0),               # 1 ms apart
    (np.random.default_rng(0).random(10_000), 8.0),     # noise: stored as is
])
def test_codec_sizes(x, most):
    assert len(codec.encode(x)) / len(x) <= most + 20 / len(x)


def test_zlib_only_for_big_compressible_chunks():
    quantized = np.arange(10_000) % 100 / 100
    assert codec.encode(quantized)[0] & codec.ZLIB
    assert not codec.encode(quantized[:codec.ZLIB_MIN - 1])[0] & codec.ZLIB
    assert not codec.encode(np.random.default_rng(0).random(10_000))[0] & codec.ZLIB


def test_corrupt_tag_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        codec.decode(bytes([0x0F]) + bytes(16), 1)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(-10**6, 10**6), floats), floats,
                          st.floats(0, 1e6)), min_size=1, max_size=400),
       st.integers(1, 50))
def test_store_round_trip(tmp_path_factory, points, chunk):
    """Any steps (non-integer too), NaN/Inf values and times come back exactly."""
    st_ = SqliteStore(tmp_path_factory.mktemp("rt") / "r.db")
    pts = np.array(points, dtype=np.float64).T
    pts[2] += T0
    st_.insert_run({"id": "r", "name": "r", "status": "running", "started": T0})
    for i in range(0, pts.shape[1], chunk):
        st_.write_batch("r", {}, [("m", i, pts[:, i:i + chunk])], [])
    got = st_.points("r", "m")
    st_.close()
    assert all(same(got[k], pts[k]) for k in range(3))


def old_store(path, series: dict[str, np.ndarray]) -> None:
    """A schema-1 store written the way nbmonitor 1 did: float64 blobs, no ``fmt``."""
    c = sqlite3.connect(path)
    c.executescript(_V1)
    c.execute("INSERT INTO nbmonitor VALUES ('app', 'nbmonitor')")
    c.execute("INSERT INTO runs (id, name, status, started) VALUES ('old', 'old', "
              "'finished', 1.0)")
    for sid, (name, pts) in enumerate(series.items(), 1):
        c.execute("INSERT INTO series (id, run_id, name, count) VALUES (?, 'old', ?, ?)",
                  (sid, name, pts.shape[1]))
        for start in range(0, pts.shape[1], 1000):
            part = pts[:, start:start + 1000]
            c.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                      (sid, start, part.shape[1], *(part[k].astype("<f8").tobytes()
                                                    for k in range(3))))
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()


def test_schema_1_store_opens_migrates_and_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    n = 2500
    old = {"loss": np.vstack([np.arange(n) * 0.5, rng.random(n), T0 + np.arange(n)]),
           "acc": np.vstack([np.arange(n), np.where(rng.random(n) < .1, np.nan, 1.0),
                             T0 + rng.random(n)])}
    p = tmp_path / "runs.db"
    old_store(p, old)
    st_ = SqliteStore(p)
    assert st_.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION == 2
    for name, pts in old.items():
        assert same(st_.points("old", name), pts)
    # New points of a new run land next to the old ones in the new format.
    st_.insert_run({"id": "new", "name": "new", "status": "running", "started": T0})
    st_.write_batch("new", {}, [("loss", 0, old["loss"])], [])
    assert same(st_.points("new", "loss"), old["loss"])
    assert st_.query("SELECT fmt, count(*) AS k FROM chunks GROUP BY fmt") == [
        {"fmt": 0, "k": 6}, {"fmt": 1, "k": 1}]
    st_.close()


def test_typical_series_costs_at_most_16_bytes_a_point(tmp_path):
    """100k points logged at step 0, 1, 2..., a noisy float64 loss, ~1 ms apart,
    written in 0.5 s batches: the file, checkpointed and vacuumed, over the points."""
    n = 100_000
    rng = np.random.default_rng(0)
    steps = np.arange(n, dtype=np.float64)
    pts = np.vstack([steps, 2 / np.sqrt(steps + 1) + 0.01 * rng.random(n),
                     T0 + np.cumsum(1e-3 + 1e-4 * rng.random(n))])
    p = tmp_path / "runs.db"
    st_ = SqliteStore(p)
    run = Run("typical")
    w = StoreWriter(st_, run, {}, period=3600)
    w.start()
    s = run.buffer.series("train/loss")
    for i in range(0, n, 500):  # 500 points per 0.5 s batch
        s.extend(*pts[:, i:i + 500])
        assert w.flush()
    run.finish("finished")
    assert w.close()
    assert same(st_.points(run.id, "train/loss"), pts)
    st_.close()
    c = sqlite3.connect(p)
    c.execute("VACUUM")
    c.close()
    assert p.stat().st_size / n <= 16
