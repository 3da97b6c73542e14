"""Scale-out: two ``python -m nbmonitor.worker`` processes run trials of one study
on a shared sqlite storage; the tuner and its widget see them; the recipe a worker
rebuilds the tuner from; clear messages for what a worker cannot run."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbmonitor
from nbmonitor import Tuner
from nbmonitor.tuning import share

ROOT = str(Path(__file__).resolve().parents[1])
QUIET = {"meters": False, "refresh_hz": 2.0}
TARGET = '''
import time
import nbmonitor

def train(q: float = 1.0, epochs: int = 3, act: str = "relu", pause: float = 0.02):
    """No torch: a worker starts fast; val/loss = q x a falling curve."""
    for epoch in range(epochs):
        time.sleep(pause)
        nbmonitor.log(**{"val/loss": q * (1.0 + 1.0 / (epoch + 1))})
'''


@pytest.fixture
def target(tmp_path, monkeypatch):
    """An importable training module in tmp_path (on sys.path here and in workers)."""
    (tmp_path / "nbm_worker_target.py").write_text(textwrap.dedent(TARGET))
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    sys.modules.pop("nbm_worker_target", None)
    return importlib.import_module("nbm_worker_target")


def worker(tmp_path: Path, study: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT]),
           "NBMONITOR_FRONTEND": "text"}
    return subprocess.Popen([sys.executable, "-m", "nbmonitor.worker", study, *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_two_workers_share_one_study(tmp_path, target):
    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    tuner = Tuner(target.train, q=(0.5, 2.0), study_name="shared", storage=url,
                  session=QUIET)
    tuner.values["epochs"] = 2
    assert "--target nbm_worker_target:train" in tuner.worker_command()  # records epochs
    assert share.load(tuner.study)["target"] == "nbm_worker_target:train"
    common = ["--storage", url, "--n-trials", "3", "--method", "random", "--no-meters"]
    procs = [worker(tmp_path, "shared", *common, "--store", str(tmp_path / "a.db"), "--trust-study"),
             worker(tmp_path, "shared", *common, "--store", str(tmp_path / "b.db"),
                    "--target", "nbm_worker_target:train")]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    df = tuner.results
    assert len(df) == 6 and sorted(df["trial"]) == list(range(6))
    assert set(df["status"]) == {"complete"} and df["q"].between(0.5, 2.0).all()
    assert set(df["epochs"]) == {2}  # the fixed value the tuner recorded, not the default
    host = socket.gethostname()
    assert set(df["worker"]) == {f"{host}:{p.pid}" for p in procs}
    assert df["worker"].value_counts().tolist() == [3, 3]
    for p, store in zip(procs, ("a.db", "b.db")):  # each run in its worker's store
        ids = set(df[df["worker"] == f"{host}:{p.pid}"]["run_id"])
        stored = nbmonitor.runs(store=str(tmp_path / store))
        assert ids <= set(stored["id"]) and set(stored["status"]) == {"finished"}
    assert tuner.best_value == df["val/loss"].min()
    curves = tuner.objective_curves()  # the values each worker reported
    assert sorted(curves) == list(range(6)) and all(len(v) == 2 for _, v in curves.values())
    view = tuner.widget()
    try:
        assert view.poll() and set(view.curves.lines) == set(range(6))
        assert view.table.value.count("<tr") == 7 and not view.poll()
    finally:
        view.close()


def test_widget_poll_picks_up_trials_of_another_process(tmp_path, target):
    import optuna
    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    tuner = Tuner(target.train, q=(0.5, 2.0), study_name="live", storage=url, session=QUIET)
    view = tuner.widget()
    try:
        view.poll()
        assert not view.poll() and not view.curves.lines
        other = optuna.load_study(study_name="live", storage=url)  # another process
        trial = other.ask({"q": optuna.distributions.FloatDistribution(0.5, 2.0)})
        trial.report(2.0, 0)
        trial.report(1.5, 1)
        assert view.poll()
        assert list(view.curves.lines[0].y) == [2.0, 1.5]
        assert "running" in view.table.value and "1 trial: 1 running" in view.status.value
        assert not view.poll()
        trial.report(1.2, 2)
        assert view.poll() and list(view.curves.lines[0].y) == [2.0, 1.5, 1.2]
        other.tell(trial, 1.2)
        assert view.poll() and "1 complete" in view.status.value
        assert view.curves.lines[0].stroke_width == 3  # the best
        view.start_polling()  # a thread while displayed, ended by close()
        assert view._poller is not None and view._poller.is_alive()
    finally:
        view.close()
    assert view._poller is None


def test_recipe_round_trip_and_worker_command(tmp_path, target):
    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    tuner = Tuner(target.train, q=nbmonitor.LogUniform(0.1, 10.0), epochs=(1, 4),
                  act=["relu", "tanh"], study_name="rt", storage=url, session=QUIET)
    tuner.values["pause"] = 0.0
    tuner.sweep("random", n_trials=1, pruning=False)  # records method and pruning
    with pytest.raises(ValueError, match="pass --target nbm_worker_target:train"):
        Tuner.from_study("rt", url, session=QUIET)
    again = Tuner.from_study("rt", url, trust_study=True, session=QUIET)
    assert again.fn is target.train and again.study_name == "rt"
    assert {n: type(p).__name__ for n, p in again.space.items()} == {
        "q": "LogUniform", "epochs": "IntRange", "act": "Choice", "pause": "Fixed"}
    assert (again.space["q"].low, again.space["epochs"].high) == (0.1, 4)
    assert again.values["pause"] == 0.0 and len(again.results) == 1
    recipe = share.load(again.study)
    assert (recipe["method"], recipe["pruning"], recipe["objective"]) == ("random", False,
                                                                          "val/loss")
    cmd = tuner.worker_command()
    assert cmd == f"python -m nbmonitor.worker rt --storage {url} " \
                  "--target nbm_worker_target:train"
    with pytest.raises(ValueError, match="in memory"):
        Tuner(target.train, q=(0.5, 2.0), storage=":memory:").worker_command()


def test_a_notebook_function_needs_target(tmp_path, capsys):
    from nbmonitor.worker import main
    url = f"sqlite:///{tmp_path / 'tuning.db'}"

    def local(q: float = 1.0) -> float:
        return q
    tuner = Tuner(local, q=(0.5, 2.0), study_name="nb", storage=url)
    assert share.load(tuner.study)["target"] is None
    with pytest.raises(ValueError, match="cannot be imported by another process"):
        tuner.worker_command()
    with pytest.raises(SystemExit) as e:
        main(["nb", "--storage", url])
    assert e.value.code == 2 and "pass --target module:function" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["nope", "--storage", url])
    assert "no study 'nope'" in capsys.readouterr().err
