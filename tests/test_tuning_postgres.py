"""Sweeps on many machines, on a real PostgreSQL server: a notebook Tuner and three
``python -m nbmonitor.worker`` processes share one study and one run store (the same
database); a SIGKILLed worker's trial is failed by the heartbeats and run again;
bad URLs, refused connections and another objective's study get one line each."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .nbutil import execute, notebook, result, text
from .pg import pg_database, postgres_url  # noqa: F401  (fixtures)

ROOT = str(Path(__file__).resolve().parents[1])
TARGET = '''
import time
import nbmonitor

def train(q: float = 1.0, epochs: int = 6, pause: float = 0.3):
    """No torch (workers start fast): val/loss = q x a falling curve, one point an epoch."""
    for epoch in range(epochs):
        time.sleep(pause)
        nbmonitor.log(**{"val/loss": q * (1.0 + 1.0 / (epoch + 1))}, step=epoch)
'''


def write_target(tmp_path: Path) -> None:
    (tmp_path / "pg_target.py").write_text(textwrap.dedent(TARGET))


def worker_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT]),
            "NBMONITOR_FRONTEND": "text"}


def worker(tmp_path: Path, *args: str, log: str = "worker.log") -> subprocess.Popen:
    out = open(tmp_path / log, "w")
    return subprocess.Popen([sys.executable, "-m", "nbmonitor.worker", *args], cwd=tmp_path,
                            env=worker_env(tmp_path), stdout=out, stderr=subprocess.STDOUT)


SETUP = """
import json, os, shlex, subprocess, sys, threading, time
sys.path[:0] = [{tmp!r}, {root!r}]
import nbmonitor
from pg_target import train
URL = {url!r}
tuner = nbmonitor.Tuner(train, q=(0.5, 2.0), study_name="team", storage=URL,
                        session={{"meters": False, "store": URL}}, seed=1,
                        keep_live=True)  # the test reads the live widget after the sweep
tuner.values.update(epochs=6, pause=0.6)
cmd = tuner.worker_command()
view = tuner.widget()
view.show()
"""

START = """
env = {{**os.environ, "PYTHONPATH": os.pathsep.join([{tmp!r}, {root!r}]),
       "NBMONITOR_FRONTEND": "text"}}
assert cmd.endswith(f"--store {{URL}}"), cmd  # the workers' runs go to the database too
args = shlex.split(cmd)[1:] + ["--n-trials", "3", "--method", "random", "--no-meters"]
procs = [subprocess.Popen([sys.executable, *args], env=env, cwd={tmp!r},
                          stdout=open(f"w{{i}}.log", "w"), stderr=subprocess.STDOUT)
         for i in range(3)]
me = nbmonitor.tuning.share.worker_id()
live = {{}}  # foreign trial -> most points the widget drew while it was running
def watch():
    while any(p.poll() is None for p in procs):
        df = getattr(view, "_df", None)
        if df is not None and len(df):
            running = df[(df["status"] == "running") & (df["worker"] != me)]
            for n in running["trial"]:
                line = view.curves.lines.get(int(n))
                if line is not None and len(line.y):
                    live[int(n)] = max(live.get(int(n), 0), len(line.y))
        time.sleep(0.2)
watcher = threading.Thread(target=watch)
watcher.start()
"""

SWEEP = 'tuner.sweep("random", n_trials=2, pruning=False)'

CHECK = """
codes = [p.wait(timeout=300) for p in procs]
watcher.join()
view.poll()
df = tuner.results
curves = tuner.objective_curves()
runs = nbmonitor.runs(store=URL)
print(json.dumps({
    "codes": codes, "pids": [p.pid for p in procs], "me": me,
    "trials": [int(t) for t in df["trial"]], "status": list(df["status"]),
    "workers": list(df["worker"]), "run_ids": list(df["run_id"]),
    "stored": list(runs["id"]), "stored_names": list(runs["name"]),
    "stored_status": list(runs["status"]),
    "curves": {str(n): c[1] for n, c in curves.items()},
    "lines": {str(n): [float(v) for v in l.y] for n, l in view.curves.lines.items()},
    "live": live, "q": list(df["q"]),
    "heartbeat": nbmonitor.tuning.heartbeat.interval_of(tuner.study)}))
view.close()
"""


@pytest.mark.notebook
def test_notebook_and_three_workers_share_one_postgres(tmp_path, pg_database):
    write_target(tmp_path)
    fmt = {"tmp": str(tmp_path), "root": ROOT, "url": pg_database}
    nb = notebook(SETUP.format(**fmt), START.format(**fmt), SWEEP, CHECK)
    execute(nb, tmp_path, timeout=400)
    out = result(nb.cells[3])
    logs = {p.name: p.read_text() for p in tmp_path.glob("w*.log")}
    assert out["codes"] == [0, 0, 0], logs
    n = 3 * 3 + 2
    assert sorted(out["trials"]) == list(range(n))  # every trial once
    assert set(out["status"]) == {"complete"}, out["status"]
    host = os.uname().nodename
    workers = {f"{host}:{pid}" for pid in out["pids"]}
    assert set(out["workers"]) == workers | {out["me"]}
    counts = {w: out["workers"].count(w) for w in set(out["workers"])}
    assert counts == {**{w: 3 for w in workers}, out["me"]: 2}
    # every trial ran once: one stored run each, all finished, in the study's database
    assert sorted(out["stored"]) == sorted(out["run_ids"]) and len(set(out["stored"])) == n
    assert sorted(out["stored_names"]) == sorted(f"team#{i}" for i in range(n))
    assert set(out["stored_status"]) == {"finished"}
    # the notebook draws every trial's full curve (6 epochs), read from the store
    for trial, q in zip(out["trials"], out["q"]):
        want = [q * (1.0 + 1.0 / (e + 1)) for e in range(6)]
        assert out["curves"][str(trial)] == pytest.approx(want), trial
        assert out["lines"][str(trial)] == pytest.approx(want, rel=1e-6), trial
    # while they ran, the widget showed other processes' trials with their points
    assert out["live"], "no foreign trial was seen running in the widget"
    assert max(out["live"].values()) >= 2, out["live"]
    print("foreign trials seen running, most points drawn:", out["live"])
    # the notebook's trials and the workers' sent heartbeats
    import psycopg
    assert out["heartbeat"] == 10
    with psycopg.connect(pg_database) as c:
        beats = dict(c.execute("SELECT t.number, count(*) FROM trial_heartbeats h JOIN trials "
                               "t ON h.trial_id = t.trial_id GROUP BY t.number").fetchall())
    assert sorted(beats) == list(range(n)), beats


_storages: dict[str, object] = {}  # one engine per URL: polling must not open a pool each time


def _trials(url: str, name: str) -> list:
    import optuna
    rdb = url.replace("postgresql://", "postgresql+psycopg://")
    storage = _storages.get(rdb)
    if storage is None:
        storage = _storages[rdb] = optuna.storages.RDBStorage(rdb)
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def test_a_killed_worker_is_failed_and_retried(tmp_path, pg_database):
    """SIGKILL mid-trial: the trial is failed within two heartbeat intervals by the
    other worker's heartbeat thread, queued again (--retry-failed 1) and run there."""
    write_target(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        from nbmonitor import Tuner
        import pg_target
        Tuner(pg_target.train, q=(0.5, 2.0), study_name="hb", storage=pg_database)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pg_target", None)
    interval = 3
    common = ["hb", "--storage", pg_database, "--target", "pg_target:train", "--method",
              "random", "--no-meters", "--store", pg_database, "--heartbeat", str(interval),
              "--retry-failed", "1"]
    victim = worker(tmp_path, *common, "--n-trials", "1", log="victim.log")
    other = worker(tmp_path, *common, "--n-trials", "4", log="other.log")
    try:
        host = os.uname().nodename
        victim_id = f"{host}:{victim.pid}"
        deadline = time.time() + 120
        target = None
        while time.time() < deadline and target is None:
            running = [t for t in _trials(pg_database, "hb") if t.state.name == "RUNNING"]
            mine = [t for t in running if t.user_attrs.get("worker") == victim_id]
            if mine and len(running) >= 2 and mine[0].user_attrs.get("run_id"):
                target = mine[0]
            time.sleep(0.1)
        assert target is not None, (tmp_path / "victim.log").read_text()
        victim.send_signal(signal.SIGKILL)
        killed = time.time()
        victim.wait()
        failed_after = None
        while time.time() < killed + 6 * interval:
            t = next(t for t in _trials(pg_database, "hb") if t.number == target.number)
            if t.state.name == "FAIL":
                failed_after = time.time() - killed
                break
            time.sleep(0.1)
        assert failed_after is not None and failed_after <= 2 * interval, failed_after
        assert other.wait(timeout=180) == 0, (tmp_path / "other.log").read_text()
    finally:
        for p in (victim, other):
            if p.poll() is None:
                p.kill()
                p.wait()
    trials = _trials(pg_database, "hb")
    states = {t.number: t.state.name for t in trials}
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == target.number]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE", states
    assert retries[0].params == target.params
    assert retries[0].user_attrs["worker"] == f"{host}:{other.pid}"
    assert sorted(states.values()) == ["COMPLETE"] * 4 + ["FAIL"]  # the sweep went on
    print(f"killed trial failed {failed_after:.2f} s after SIGKILL (interval {interval} s)")


def test_fail_stale_from_a_tuner_that_is_not_sweeping(tmp_path, pg_database):
    """A trial whose process stopped beating is failed by fail_stale() once the grace
    period is over, and retried (retry_failed=1); a fresh one is left alone."""
    import optuna
    from nbmonitor import Tuner
    write_target(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        import pg_target
        tuner = Tuner(pg_target.train, q=(0.5, 2.0), study_name="fs", storage=pg_database,
                      heartbeat=1, retry_failed=1)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pg_target", None)
    dist = {"q": optuna.distributions.FloatDistribution(0.5, 2.0)}
    old, new = tuner.study.ask(dist), tuner.study.ask(dist)
    storage = tuner.study._storage
    storage.record_heartbeat(old._trial_id)
    tuner.fail_stale()
    assert [t.state.name for t in tuner.study.trials] == ["RUNNING", "RUNNING"]
    time.sleep(3.5)  # grace period of a 1 s interval: 2 s
    storage.record_heartbeat(new._trial_id)
    tuner.fail_stale()
    states = [(t.number, t.state.name) for t in tuner.study.get_trials(deepcopy=False)]
    assert states == [(0, "FAIL"), (1, "RUNNING"), (2, "WAITING")]
    assert tuner.study.trials[2].params == old.params
