"""Crash safety and concurrency with real processes: kill -9 mid-run, two writers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from nbmonitor.store import SqliteStore

SCRIPT = textwrap.dedent("""
    import sys, time
    import nbmonitor
    store, name, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with nbmonitor.monitor(name, store=store, print_capture=False, hparams={"n": n}):
        for i in range(n):
            nbmonitor.log(step=i, loss=1.0 / (i + 1), acc=i / n)
            if i % 200 == 0:
                print(i, time.time(), flush=True)
                if pause:
                    time.sleep(pause)
    print("done", flush=True)
""")


def start(tmp_path, store, name, n, pause=0.0) -> subprocess.Popen:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "NBMONITOR_FRONTEND": "text",
           "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(),
                                                        os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(script), str(store), name, str(n), str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env, cwd=tmp_path)


def test_sigkill_mid_run_leaves_a_crashed_run_with_its_points(tmp_path):
    db = tmp_path / "runs.db"
    p = start(tmp_path, db, "victim", 10**9, pause=0.002)
    seen = []
    first = None
    while True:
        line = p.stdout.readline()
        assert line, "the training process ended early"
        i, t = line.split()
        seen.append((int(i), float(t)))
        first = first or time.time()
        if time.time() - first > 2.5:
            break
    t_kill = time.time()
    p.send_signal(signal.SIGKILL)
    seen += [(int(i), float(t)) for i, t in (ln.split() for ln in p.stdout.read().split("\n")
                                             if ln.strip())]
    p.wait()
    must = max(i for i, t in seen if t <= t_kill - 1.0)
    st = SqliteStore(db)  # a fresh open, as after a kernel restart
    (row,) = st.run_rows()
    assert row["status"] == "crashed" and row["name"] == "victim"
    assert row["hparams"] == {"n": 10**9}
    pts = st.points(row["id"], "loss")
    assert pts.shape[1] >= must + 1, (pts.shape, must)
    assert np.array_equal(pts[0], np.arange(pts.shape[1]))  # no hole, no duplicate
    st.close()


@pytest.mark.timeout(180)
def test_two_processes_write_one_store_and_lose_nothing(tmp_path):
    db = tmp_path / "runs.db"
    n = 140_000  # beyond the buffer's full-resolution cap (131072): it compacts
    procs = [start(tmp_path, db, name, n) for name in ("left", "right")]
    for p in procs:
        out, _ = p.communicate(timeout=170)
        assert p.returncode == 0 and out.endswith("done\n")
    st = SqliteStore(db)
    rows = st.run_rows()
    assert sorted(r["name"] for r in rows) == ["left", "right"]
    for r in rows:
        assert r["status"] == "finished"
        for name in ("loss", "acc"):
            pts = st.points(r["id"], name)
            assert np.array_equal(pts[0], np.arange(n))
    st.close()
