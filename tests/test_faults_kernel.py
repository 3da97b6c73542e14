"""Two Ctrl-Cs in a real kernel (nbclient): the first ends a ``%%monitor`` cell, the
second lands while the dashboard closes. The run is stored ``interrupted`` with
every point, nothing of it is left running, and the next monitored cell runs."""
from __future__ import annotations

import os
import signal
import threading

import pytest
from nbclient import NotebookClient

from nbmonitor.store.sqlite import SqliteStore

from .nbutil import notebook, result

TRAIN = """%%monitor --name first --no-meters
import time
import nbmonitor
i = 0
while True:
    nbmonitor.log(loss=1.0 / (i + 1))
    i += 1
    if i % 2000 == 0:
        time.sleep(0.001)
"""
CHECK = """import json, threading, time
import nbmonitor
from nbmonitor import session
time.sleep(1.0)
run = nbmonitor.last_run()
first = {"id": run.id, "status": run.status, "count": run.buffer.series("loss").count,
         "active": session.active_session() is not None,
         "threads": [t.name for t in threading.enumerate() if t.name.startswith("nbmonitor")]}
with nbmonitor.monitor("second", meters=False):
    nbmonitor.log(x=1.0)
print(json.dumps(dict(first, second=nbmonitor.last_run().status)))
"""


@pytest.mark.parametrize("second", [0.005, 0.02, 0.05, 0.15])
def test_two_interrupts_in_a_kernel(tmp_path, second):
    db = tmp_path / "runs.db"
    nb = notebook("%load_ext nbmonitor", TRAIN, CHECK, raises=(1,))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    env = {k: v for k, v in os.environ.items() if k != "NBMONITOR_FRONTEND"}
    env["NBMONITOR_STORE"] = str(db)
    with client.setup_kernel(env=env):
        pid = client.km.provisioner.pid
        client.execute_cell(nb.cells[0], 0)
        timers = [threading.Timer(4.0, os.kill, (pid, signal.SIGINT)),
                  threading.Timer(4.0 + second, os.kill, (pid, signal.SIGINT))]
        for t in timers:
            t.start()
        try:
            client.execute_cell(nb.cells[1], 1)
        finally:
            for t in timers:
                t.join()
        client.execute_cell(nb.cells[2], 2)
    out = result(nb.cells[2])
    assert out["status"] == "interrupted" and out["second"] == "finished"
    assert not out["active"] and out["threads"] == []
    st = SqliteStore(db)
    try:
        (row,) = st.query("SELECT status FROM runs WHERE id = ?", (out["id"],))
        assert row["status"] == "interrupted"
        assert st.points(out["id"], "loss").shape[1] == out["count"] > 0
    finally:
        st.close()
