"""Sweeps of a real PyTorch loop: statuses, pruning at a step boundary, failures,
best parameters, results and persistence of the study."""
import os

import pytest

import nbmonitor
from nbmonitor import Tuner
from nbmonitor.tuning import engine

from .tuning_train import STEPS_PER_EPOCH, train

pytestmark = pytest.mark.framework
QUIET = {"meters": False, "refresh_hz": 2.0}


def tuner(**kwargs):
    kwargs.setdefault("storage", ":memory:")
    return Tuner(train, session=QUIET, **kwargs)


def test_grid_2x2_gives_exactly_those_trials():
    t = tuner(q=[0.5, 2.0], act=["relu", "tanh"])
    df = t.sweep("grid", pruning=False)
    assert len(df) == 4
    assert sorted(zip(df["q"], df["act"])) == [(0.5, "relu"), (0.5, "tanh"),
                                                (2.0, "relu"), (2.0, "tanh")]
    assert set(df["status"]) == {"complete"}
    assert t.best_params["q"] == 0.5
    assert t.best_params["epochs"] == 3  # fixed values are part of the best parameters
    assert df["duration_s"].gt(0).all() and df["run_id"].notna().all()


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_random_and_tpe_give_n_trials(method):
    t = tuner(lr=nbmonitor.LogUniform(1e-3, 1e-1), q=(0.5, 2.0), seed=1)
    df = t.sweep(method, n_trials=3, pruning=False)
    assert len(df) == 3 and list(df["trial"]) == [0, 1, 2]
    assert set(df["status"]) == {"complete"}
    assert df["lr"].between(1e-3, 1e-1).all() and df["q"].between(0.5, 2.0).all()
    best = df.loc[df["val/loss"].idxmin()]
    assert t.best_params["lr"] == best["lr"] and t.best_value == best["val/loss"]
    assert len(t.study.trials) == 3


def test_pruning_stops_a_bad_trial_at_a_step_boundary():
    t = tuner(q=(0.1, 10.0), epochs=(1, 6))
    for q in (1.0, 1.1, 9.0):  # two good trials, then a bad one
        t.study.enqueue_trial({"q": q, "epochs": 4})
    eager = engine.pruner(True, n_startup=2, n_warmup=0)  # prune from the first report
    df = t.sweep("random", n_trials=3, pruning=True, pruner=eager)
    assert list(df["status"]) == ["complete", "complete", "pruned"]
    run = nbmonitor.last_run()
    assert run.status == "stopped" and run.hparams["q"] == 9.0
    full = 4 * STEPS_PER_EPOCH
    # reported after epoch 1 at the next step boundary, stopped right there
    assert run.step == STEPS_PER_EPOCH + 1 < full
    assert run.buffer.series("train/loss").count == run.step
    assert run.buffer.series("val/loss").count == 1
    assert any(e.kind == "tuning" and "pruned" in e.message for e in run.events)
    assert t.objective_curves()[2][1] == [pytest.approx(df["val/loss"][2])]


def test_default_pruning_lets_trials_show_a_trend():
    t = tuner(q=(0.5, 4.0), seed=1)
    t.values["epochs"] = 5
    df = t.sweep("tpe", n_trials=8, pruning=True)
    curves = t.objective_curves()
    assert list(df["status"][:4]) == ["complete"] * 4  # the startup trials finish
    for number, status in zip(df["trial"], df["status"]):
        assert status in ("complete", "pruned")
        assert len(curves[number][1]) >= 3 or status == "complete"  # 3 reports first


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on():
    t = tuner(fail=[True, False])
    for fail in (True, False, True):
        t.study.enqueue_trial({"fail": fail})
    df = t.sweep("random", n_trials=3, pruning=False)
    assert list(df["status"]) == ["failed", "complete", "failed"]
    assert "RuntimeError: diverged on purpose" in df["error"][0]
    assert "in train" in df["error"][0]  # the end of the traceback
    assert df["val/loss"].isna().tolist() == [True, False, True]
    assert nbmonitor.runs().set_index("id").loc[df["run_id"][0], "status"] == "failed"


def test_run_once_with_values_and_bad_values():
    t = tuner(q=(0.5, 2.0))
    out = t.run(q=0.7, epochs=2)
    assert out.state == "complete" and len(out.curve[1]) == 2
    row = t.results.iloc[0]
    assert (row["q"], row["epochs"], row["status"]) == (0.7, 2, "complete")
    with pytest.raises(ValueError, match=r"q=5 is outside \[0.5, 2.0\]"):
        t.run(q=5)
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        t.run(momentum=0.9)
    with pytest.raises(ValueError, match="no completed trial"):
        tuner(q=(0.5, 2.0), study_name="empty").best_params


def test_objective_missing_fails_the_trial():
    t = Tuner(train, objective="val/acc", storage=":memory:", session=QUIET)
    out = t.run(epochs=1)
    assert out.state == "failed" and "val/acc" in out.error


def test_study_persists_beside_the_run_store(tmp_path, monkeypatch):
    monkeypatch.setenv("NBMONITOR_STORE", str(tmp_path / "store" / "runs.db"))
    first = Tuner(train, q=(0.5, 2.0), study_name="persist", session=QUIET)
    first.sweep("random", n_trials=2, pruning=False)
    assert (tmp_path / "store" / "tuning.db").exists()
    second = Tuner(train, q=(0.5, 2.0), study_name="persist", session=QUIET)
    assert len(second.results) == 2 and set(second.results["status"]) == {"complete"}
    assert second.best_params == first.best_params
    second.run(q=1.0, epochs=1)
    assert len(first.results) == 3  # both see the same study
    assert os.path.exists(tmp_path / "store" / "runs.db")


def test_background_sweep_and_stop():
    t = tuner(q=(0.5, 2.0), epochs=(1, 50))
    t.study.enqueue_trial({"q": 1.0, "epochs": 50})
    thread = t.sweep("random", n_trials=5, pruning=False, background=True)
    import time
    deadline = time.time() + 30
    while (nbmonitor.current_run() is None or nbmonitor.current_run().step < 3) \
            and time.time() < deadline:
        time.sleep(0.02)
    t.stop()
    df = t.wait(timeout=60)
    assert not thread.is_alive()
    assert len(df) == 1 and df["status"][0] == "failed"
    assert df["error"][0] == "stopped by the user"
    assert nbmonitor.last_run().step < 50 * STEPS_PER_EPOCH
