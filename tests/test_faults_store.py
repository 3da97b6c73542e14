"""Faults of the store during a run: a failed batch when a series first appears,
a real full disk, values and names the store cannot hold, the store file deleted,
a read-only or damaged store, a store in a new directory. Each asserts no point
lost, one clear message, and nothing left running (the autouse fixture)."""
from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest

import nbmonitor
from nbmonitor.store import StoreError, open_for_run
from nbmonitor.store.sqlite import SqliteStore

from .faults import fill, inject, remount, tmpfs


def _stored(path, run_id: str) -> dict[str, int]:
    """Points per series of a run, read with a fresh connection."""
    st = SqliteStore(path)
    try:
        out = {}
        for r in st.query("SELECT name FROM series WHERE run_id = ?", (run_id,)):
            out[r["name"]] = st.points(run_id, r["name"]).shape[1]
        out["_status"] = st.query("SELECT status FROM runs WHERE id = ?", (run_id,))[0]["status"]
        return out
    finally:
        st.close()


def _forget_stores() -> None:
    for _, st in nbmonitor.store._opened.values():
        st.close()
    nbmonitor.store._opened.clear()


def _monitor(path, **kw):
    return nbmonitor.monitor(kw.pop("name", "faults"), store=path, meters=False,
                             default_alerts=False, print_capture=kw.pop("print_capture", False),
                             **kw)


def _wait_batches(writer, n: int, timeout: float = 10.0) -> None:
    end = time.time() + timeout
    start = writer.batches
    while writer.batches < start + n and time.time() < end:
        time.sleep(0.02)


def test_failed_first_write_of_a_series_is_retried(tmp_path, capsys):
    """Issue case 1: the write that creates ``val_loss`` fails for 1.5 s."""
    path = tmp_path / "runs.db"
    s = _monitor(path)
    with s as run:
        writer = s._writer
        writer.period = 0.05
        for i in range(100):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
        _wait_batches(writer, 1)
        faulty = inject(writer.store)
        faulty.failing = True
        for i in range(100, 400):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
            if i % 4 == 0:
                nbmonitor.log(val_loss=2.0 / (i + 1), step=i)
            if i == 250:
                time.sleep(1.5)
        faulty.failing = False
        for i in range(400, 500):
            nbmonitor.log(val_loss=2.0 / (i + 1), step=i)
    assert faulty.failures >= 2
    stored = _stored(path, run.id)
    assert stored == {"loss": 400, "val_loss": 175, "_status": "finished"}
    assert stored["val_loss"] == run.buffer.series("val_loss").count
    err = capsys.readouterr().err
    assert err.count("failed (OperationalError: database or disk is full)") == 1
    assert err.count("is stored again") == 1


def test_full_disk_on_a_real_tmpfs(capsys):
    """The same with a real ENOSPC: a 2 MB tmpfs filled during the run, then freed."""
    with tmpfs("2m") as where:
        path = where / "runs.db"
        s = _monitor(path)
        with s as run:
            writer = s._writer
            writer.period = 0.05
            for i in range(2000):
                nbmonitor.log(loss=float(np.random.rand()), step=i)
            _wait_batches(writer, 2)
            filler = fill(where)
            for i in range(2000, 30000):
                nbmonitor.log(loss=float(np.random.rand()), step=i)
                if i % 7 == 0:
                    nbmonitor.log(val_loss=float(np.random.rand()), step=i)
                if i % 2000 == 0:
                    time.sleep(0.1)
            deadline = time.time() + 10
            while not writer._failing and time.time() < deadline:
                time.sleep(0.05)
            failed = writer._failing
            filler.unlink()
            for i in range(30000, 31000):
                nbmonitor.log(val_loss=float(np.random.rand()), step=i)
        stored = _stored(path, run.id)
    assert failed, "the full disk never failed a write"
    assert stored["loss"] == 30000 and stored["val_loss"] == run.buffer.series("val_loss").count
    assert stored["_status"] == "finished"
    err = capsys.readouterr().err
    assert err.count("failed (") == 1 and "is stored again" in err


def test_values_and_names_the_store_cannot_hold(tmp_path, capsys):
    """Issue case 2: 10**400, step=2**63, a printed step=1e19, a lone surrogate,
    step=inf. Each is refused at log with one line, or stored as given; the points
    after it all land."""
    path = tmp_path / "runs.db"
    s = _monitor(path, print_capture=True)
    with s as run:
        s._writer.period = 0.05
        with pytest.raises(ValueError, match=r"^nbmonitor.log: metric 'x' = an integer of "
                                             r"401 digits does not fit in a float64"):
            nbmonitor.log(x=10 ** 400)
        with pytest.raises(ValueError, match="is not valid text"):
            nbmonitor.log(**{"bad\ud800name": 1.0})
        nbmonitor.log(big=1.0, step=2 ** 63)
        print("step=1e19 val_loss=0.5")
        nbmonitor.log(odd=2.0, step=float("inf"))
        nbmonitor.log(huge=2 ** 80)
        time.sleep(0.3)
        for i in range(200):
            nbmonitor.log(loss=1.0 / (i + 1))
    stored = _stored(path, run.id)
    assert stored["_status"] == "finished"
    assert stored["loss"] == 200 and stored["big"] == 1 and stored["odd"] == 1
    assert stored["val_loss"] == 1 and stored["huge"] == 1
    assert "x" not in stored and not any("bad" in k for k in stored)
    back = nbmonitor.load(run.id, store=path)
    assert back.series("odd")["step"][0] == float("inf")
    assert back.series("big")["step"][0] == 2.0 ** 63
    assert back.series("huge")["value"][0] == 2.0 ** 80
    assert back.step == 2 ** 63 - 1  # the run's step, clipped to what SQLite holds
    assert "Traceback" not in capsys.readouterr().err


def test_store_deleted_mid_run_is_written_again(tmp_path, capsys):
    """Issue case 4: the file is unlinked; the writer says so once, creates the
    store again and rewrites the run from memory."""
    path = tmp_path / "d" / "runs.db"
    s = _monitor(path)
    with s as run:
        s._writer.period = 0.05
        for i in range(300):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
        _wait_batches(s._writer, 2)
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{path}{suffix}")
        for i in range(300, 600):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
            nbmonitor.log(acc=i / 600, step=i)
        time.sleep(0.3)
        for i in range(600, 700):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
    assert path.exists()
    assert _stored(path, run.id) == {"loss": 700, "acc": 300, "_status": "finished"}
    back = nbmonitor.load(run.id, store=path).series("loss")
    assert back["step"].tolist() == list(range(700))
    assert capsys.readouterr().err.count("was deleted or replaced") == 1


def test_read_only_store_is_read_and_the_run_goes_on(capsys):
    """Issue case 4: a valid store on a read-only file system."""
    with tmpfs("4m") as where:
        path = where / "runs.db"
        with _monitor(path, name="earlier") as earlier:
            nbmonitor.log(loss=0.5)
        _forget_stores()  # as a new process would see it
        remount(where, "ro")
        before = path.read_bytes()
        with _monitor(path, name="now") as run:
            for i in range(50):
                nbmonitor.log(loss=1.0 / (i + 1))
        assert run.status == "finished" and run.buffer.series("loss").count == 50
        assert nbmonitor.load("earlier", store=path).series("loss")["value"].tolist() == [0.5]
        with pytest.raises(StoreError, match="is open read-only"):
            nbmonitor.rename("earlier", "later", store=path)
        assert path.read_bytes() == before
        _forget_stores()
        remount(where, "rw")
    err = capsys.readouterr().err
    assert err.count("is read-only") == 1 and "this run is not stored" in err
    assert earlier.status == "finished"


def _damaged_store(path) -> bytes:
    st = SqliteStore(path)
    c = st._conn
    c.execute("INSERT INTO runs (id, name, status, started) VALUES ('r', 'r', 'finished', 0)")
    c.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [("r", i, "k", "m" * 50, 0.0, 0.0, "{}") for i in range(3000)])
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    st.close()
    data = bytearray(path.read_bytes())
    page = (len(data) // 4096 - 2) * 4096
    data[page + 100:page + 400] = b"A" * 300  # cells of a b-tree page out of range
    path.write_bytes(bytes(data))
    return bytes(data)


def test_store_failing_quick_check_is_not_written(tmp_path):
    path = tmp_path / "runs.db"
    data = _damaged_store(path)
    with pytest.raises(StoreError, match="is damaged .*quick_check.* does not write"):
        open_for_run(path)
    with pytest.raises(StoreError, match="damaged"):
        with _monitor(path):
            pass
    assert path.read_bytes() == data
    assert nbmonitor.load("r", store=path).status == "finished"  # still readable


def test_store_in_a_new_directory(tmp_path):
    where = tmp_path / "newdir"
    with _monitor(str(where) + "/") as run:
        nbmonitor.log(loss=1.0)
    assert where.is_dir() and (where / "runs.db").is_file()
    assert _stored(where / "runs.db", run.id)["loss"] == 1


def test_final_write_failure_is_said_and_points_can_be_saved(tmp_path, capsys):
    path = tmp_path / "runs.db"
    s = _monitor(path)
    with s as run:
        s._writer.period = 0.05
        nbmonitor.log(loss=1.0)
        _wait_batches(s._writer, 1)
        inject(s._writer.store).failing = True
        for i in range(1, 100):
            nbmonitor.log(loss=1.0 / (i + 1))
    err = capsys.readouterr().err
    assert err.count("failed (") == 2  # once while running, once at the final write
    assert "the final write of run 'faults'" in err and ".to_csv(" in err
    out = run.to_csv(tmp_path / "run.csv")
    lines = out.read_text().splitlines()
    assert lines[0] == "series,step,value,time" and len(lines) == 101
    assert run.status == "finished"


def test_a_series_the_store_refuses_is_left_out_alone(tmp_path, capsys):
    """A batch failing for its content (not the disk) is written series by series."""
    path = tmp_path / "runs.db"
    s = _monitor(path)
    with s as run:
        s._writer.period = 0.05
        store = s._writer.store
        real = store.write_batch

        def picky(run_id, fields, points, events):
            if any(name == "cursed" for name, _, _ in points):
                raise sqlite3.InterfaceError("cannot bind cursed")
            return real(run_id, fields, points, events)
        store.write_batch = picky
        for i in range(100):
            nbmonitor.log(loss=1.0 / (i + 1), cursed=float(i))
        time.sleep(0.3)
        for i in range(100, 200):
            nbmonitor.log(loss=1.0 / (i + 1), cursed=float(i))
    stored = _stored(path, run.id)
    assert stored == {"loss": 200, "_status": "finished"}
    assert capsys.readouterr().err.count("series 'cursed' of run 'faults' cannot be stored") == 1


def test_hyperparameters_json_cannot_hold_do_not_poison_writes(tmp_path):
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    circular: dict = {}
    circular["self"] = circular
    path = tmp_path / "runs.db"
    with _monitor(path, hparams={"deep": deep}) as run:
        nbmonitor.config(loop=circular, lr=0.1)
        for i in range(100):
            nbmonitor.log(loss=1.0 / (i + 1))
    back = nbmonitor.load(run.id, store=path)
    assert back.status == "finished" and len(back.series("loss")) == 100
    assert list(back.hparams) == ["unencodable"]
    assert back.hparams["unencodable"].startswith(("RecursionError", "ValueError"))
