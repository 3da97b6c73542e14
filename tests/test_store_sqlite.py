"""The store file: schema, refusal of foreign/corrupt/newer files, crash marking."""
from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

from nbmonitor.run import Run
from nbmonitor.store import SCHEMA_VERSION, StoreError, open_store, store_path
from nbmonitor.store.sqlite import HOST, SqliteStore
from nbmonitor.store.writer import StoreWriter


@pytest.fixture(autouse=True)
def _no_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("NBMONITOR_STORE", str(tmp_path / "default.db"))


def test_new_store_is_wal_and_versioned(tmp_path):
    st = SqliteStore(tmp_path / "a" / "runs.db")
    assert st.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert st.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
    st.close()
    SqliteStore(tmp_path / "a" / "runs.db").close()  # reopening migrates nothing


@pytest.mark.parametrize("content", [b"hello, not a database\n" * 10,
                                     b"SQLite format 3\x00" + b"\xff" * 2000])
def test_foreign_or_corrupt_file_is_refused_and_untouched(tmp_path, content):
    p = tmp_path / "runs.db"
    p.write_bytes(content)
    with pytest.raises(StoreError, match="not .*nbmonitor store|never overwrites"):
        SqliteStore(p)
    assert p.read_bytes() == content


def test_other_programs_sqlite_is_refused(tmp_path):
    p = tmp_path / "runs.db"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE users (id INTEGER)")
    c.commit()
    c.close()
    before = p.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        SqliteStore(p)
    assert p.read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    p = tmp_path / "runs.db"
    SqliteStore(p).close()
    c = sqlite3.connect(p)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="newer nbmonitor"):
        SqliteStore(p)


def test_store_path_resolution(tmp_path, monkeypatch):
    assert store_path(False) is None
    assert store_path("off") is None
    assert store_path(None) == (tmp_path / "default.db").resolve()
    monkeypatch.setenv("NBMONITOR_STORE", "off")
    assert store_path(None) is None
    monkeypatch.delenv("NBMONITOR_STORE")
    monkeypatch.chdir(tmp_path)
    assert store_path(None) == tmp_path / ".nbmonitor" / "runs.db"
    assert store_path(tmp_path) == tmp_path / "runs.db"  # a directory


def test_writer_round_trip_and_stats(tmp_path):
    st = open_store(tmp_path / "r.db")
    run = Run("r", hparams={"lr": 0.1})
    w = StoreWriter(st, run, {"source": "x = 1"}, period=0.05)
    w.start()
    for i in range(20_000):
        run.log("train/loss", 1.0 / (i + 1), step=i)
    run.log("train/loss", float("nan"), step=20_000)
    run.event("alert", "hi", series="train/loss")
    time.sleep(0.2)
    assert st.run_rows()[0]["status"] == "running"
    run.finish("finished")
    assert w.close()
    row = st.run_rows()[0]
    assert row["status"] == "finished" and row["ended"] and row["hparams"] == {"lr": 0.1}
    pts = st.points(run.id, "train/loss")
    assert pts.shape == (3, 20_001) and np.array_equal(pts[0], np.arange(20_001))
    s = st.query("SELECT * FROM series")[0]
    assert s["count"] == 20_001 and s["min"] == pytest.approx(1 / 20_000) and s["max"] == 1.0


def test_dead_owner_is_marked_crashed(tmp_path):
    p = tmp_path / "r.db"
    st = SqliteStore(p)
    now = time.time()
    for rid, pid, host, hb in [("dead", 2**22 + 7, HOST, now), ("other", 1, "elsewhere", now),
                               ("stale", 1, "elsewhere", now - 3600)]:
        st.insert_run({"id": rid, "name": rid, "status": "running", "started": now})
        st.update_run(rid, pid=pid, host=host, heartbeat=hb)
    # A run of this very process that nothing writes any more is crashed too.
    st.insert_run({"id": "orphan", "name": "orphan", "status": "running", "started": now})
    assert sorted(st.mark_crashed()) == ["dead", "orphan", "stale"]
    status = {r["id"]: r["status"] for r in st.run_rows()}
    assert status == {"dead": "crashed", "other": "running", "stale": "crashed",
                      "orphan": "crashed"}


def test_write_failure_is_reported_once_and_retried(tmp_path, capsys):
    st = open_store(tmp_path / "r.db")
    run = Run("r")
    w = StoreWriter(st, run, {}, period=3600)
    w.start()
    real = st.write_batch
    st.write_batch = lambda *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("full"))
    run.log("loss", 1.0, step=0)
    assert not w.flush() and not w.flush()
    assert capsys.readouterr().err.count("failed") == 1
    st.write_batch = real
    run.log("loss", 2.0, step=1)
    run.finish("finished")
    assert w.close()
    assert st.points(run.id, "loss")[1].tolist() == [1.0, 2.0]
