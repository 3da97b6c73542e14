"""XGBoost and LightGBM capture on real boosters (CPU, generated data): every eval
metric per round equals the library's own ``evals_result``/``record_evaluation``;
totals; Stop ends training after the current round with the rounds done kept."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import nbmonitor

pytestmark = pytest.mark.framework


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    return X[:300], y[:300], X[300:], y[300:]


def values(run, name):
    steps, vals, _ = run.buffer.series(name).arrays()
    return steps.tolist(), vals.tolist()


# -- XGBoost -------------------------------------------------------------------
xgb = pytest.importorskip("xgboost")


def test_xgboost_train_records_every_eval_metric_per_round(data, capsys):
    Xt, yt, Xv, yv = data
    dtrain, dval = xgb.DMatrix(Xt, yt), xgb.DMatrix(Xv, yv)
    result = {}
    with nbmonitor.monitor("xgb", meters=False, store=False) as run:
        xgb.train({"objective": "binary:logistic", "eval_metric": ["logloss", "error"],
                   "nthread": 1}, dtrain, 15, evals=[(dtrain, "train"), (dval, "eval")],
                  evals_result=result, verbose_eval=True)
    assert run.status == "finished" and run.step == run.total_steps == 15
    assert {s.name for s in run.buffer} == {"train/logloss", "train/error", "eval/logloss",
                                            "eval/error"}
    for data_name, by_metric in result.items():
        for metric, expected in by_metric.items():
            steps, got = values(run, f"{data_name}/{metric}")
            assert steps == list(range(1, 16))
            assert got == pytest.approx(expected)
    assert "[14]\ttrain-logloss:" in capsys.readouterr().out, "XGBoost's own lines still show"


def test_xgboost_sklearn_fit_and_stop_after_the_current_round(data):
    Xt, yt, Xv, yv = data
    from xgboost.callback import TrainingCallback

    class PressStop(TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch == 6:
                nbmonitor.current_run().request_stop()
            return False

    model = xgb.XGBClassifier(n_estimators=40, eval_metric="logloss", n_jobs=1,
                              callbacks=[PressStop()])
    with nbmonitor.monitor("xgb-stop", meters=False, store=False) as run:
        model.fit(Xt, yt, eval_set=[(Xv, yv)], verbose=False)
        went_on = True
    assert went_on and run.status == "stopped"
    assert run.total_steps == 40
    assert model.get_booster().num_boosted_rounds() == 7 == run.step
    steps, got = values(run, "validation_0/logloss")
    assert steps == list(range(1, 8))
    assert got == pytest.approx(model.evals_result()["validation_0"]["logloss"])


# -- LightGBM ------------------------------------------------------------------
lgb = pytest.importorskip("lightgbm")


def test_lightgbm_train_records_every_eval_metric_per_round(data):
    Xt, yt, Xv, yv = data
    ds = lgb.Dataset(Xt, yt)
    dv = lgb.Dataset(Xv, yv, reference=ds)
    recorded = {}
    with nbmonitor.monitor("lgb", meters=False, store=False) as run:
        lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1,
                   "num_threads": 1}, ds, 12, valid_sets=[ds, dv], valid_names=["train", "val"],
                  callbacks=[lgb.record_evaluation(recorded), lgb.log_evaluation(1)])
    assert run.status == "finished" and run.step == run.total_steps == 12
    assert {s.name for s in run.buffer} == {"train/binary_logloss", "train/auc",
                                            "val/binary_logloss", "val/auc"}
    for data_name, by_metric in recorded.items():
        for metric, expected in by_metric.items():
            steps, got = values(run, f"{data_name}/{metric}")
            assert steps == list(range(1, 13)) and got == pytest.approx(expected)


def test_lightgbm_sklearn_fit_and_stop_after_the_current_round(data):
    Xt, yt, Xv, yv = data

    def press_stop(env):
        if env.iteration == 4:
            nbmonitor.current_run().request_stop()

    model = lgb.LGBMClassifier(n_estimators=50, verbose=-1, n_jobs=1)
    with nbmonitor.monitor("lgb-stop", meters=False, store=False) as run:
        model.fit(Xt, yt, eval_X=(Xv,), eval_y=(yv,), callbacks=[press_stop])
        went_on = True
    assert went_on and run.status == "stopped"
    assert run.total_steps == 50
    assert model.booster_.num_trees() == 5 == run.step
    steps, got = values(run, "valid_0/binary_logloss")
    assert steps == list(range(1, 6))
    assert got == pytest.approx(model.evals_result_["valid_0"]["binary_logloss"])
    # The model predicts with the rounds it has (best_iteration is the last one).
    assert model.best_iteration_ == 5
    assert model.predict_proba(Xv).shape == (100, 2)


def test_hooks_are_removed_and_other_calls_untouched(data):
    import lightgbm.engine
    import xgboost.sklearn
    import xgboost.training
    before = (xgb.train, xgboost.training.train, xgboost.sklearn.train, lgb.train,
              lightgbm.engine.train)
    with nbmonitor.monitor("rm", meters=False, store=False):
        assert xgb.train is not before[0] and lgb.train is not before[3]
        assert xgboost.sklearn.train is xgb.train
    after = (xgb.train, xgboost.training.train, xgboost.sklearn.train, lgb.train,
             lightgbm.engine.train)
    assert after == before
    assert "xgboost" in sys.modules


def test_frameworks_imported_inside_the_cell_are_patched_then(tmp_path):
    """Import watchers: a cell that imports transformers/xgboost/lightgbm itself."""
    import os
    import subprocess
    code = (
        "import nbmonitor\n"
        "src = 'import xgboost, lightgbm; from transformers import Trainer'\n"
        "with nbmonitor.monitor('w', meters=False, store=False, source=src):\n"
        "    assert 'xgboost' not in __import__('sys').modules\n"
        "    import xgboost, lightgbm\n"
        "    from transformers import Trainer\n"
        "    inside = [f.__code__.co_filename.rsplit('/', 1)[-1] for f in\n"
        "              (xgboost.train, lightgbm.train, Trainer.train)]\n"
        "after = [f.__code__.co_filename.rsplit('/', 1)[-1] for f in\n"
        "         (xgboost.train, lightgbm.train, Trainer.train)]\n"
        "print(inside, after)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, "NBMONITOR_FRONTEND": "text"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "['boosting.py', 'boosting.py', 'hf_trainer.py'] ['core.py', 'engine.py', 'trainer.py']")
