"""A real kernel (nbclient) runs ``%%monitor`` cells of loops the torch/Keras/Lightning
hooks don't see (log-only, print-only), a Hugging Face ``Trainer``, XGBoost and
LightGBM; an alert's ``-> stop`` ends each one early, the run says ``stopped``,
and the points up to the stop are those the library itself reports."""
import pytest

from .nbutil import execute, notebook, result

pytestmark = [pytest.mark.notebook, pytest.mark.framework]

SETUP = """
%load_ext nbmonitor
import json, time, nbmonitor
def report(**extra):
    run = nbmonitor.last_run()
    print(json.dumps({"status": run.status, "step": run.step, "total": run.total_steps,
                      "names": run.buffer.names(), **extra}))
"""

LOG_NAN = """%%monitor --name nb-log --stop-on-nan --refresh-hz 20
done = 0
for i in range(100):
    time.sleep(0.02)
    nbmonitor.log(loss=float("nan") if i == 37 else 1.0 / (i + 1))
    done += 1
"""
CHECK_LOG = """report(done=done, count=nbmonitor.last_run().buffer.series("loss").count)"""

PRINT_STOP = """%%monitor --name nb-print --alert "loss < 0.05 -> stop" --refresh-hz 20
done = 0
for i in range(300):
    time.sleep(0.01)
    print(f"step {i} | loss {1.0 / (i + 1):.4f}")
    done += 1
"""
CHECK_PRINT = """
report(done=done, steps=nbmonitor.last_run().buffer.series("loss").arrays()[0].tolist())
"""

TRAINER = """
import torch
from transformers import (BertConfig, BertForSequenceClassification, Trainer,
                          TrainingArguments, TrainerCallback)
class Tokens(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 50, (n, 8), generator=g); self.y = (self.x[:, 0] > 25).long()
    def __len__(self): return len(self.x)
    def __getitem__(self, i):
        return {"input_ids": self.x[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.y[i]}
class Slow(TrainerCallback):
    def on_step_end(self, *a, **k): time.sleep(0.05)
torch.manual_seed(0)
cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=32, max_position_embeddings=16, num_labels=2)
args = TrainingArguments(output_dir="hf-out", per_device_train_batch_size=8, num_train_epochs=10,
                         logging_steps=1, eval_strategy="steps", eval_steps=5, report_to=[],
                         save_strategy="no", use_cpu=True, disable_tqdm=True)
trainer = Trainer(model=BertForSequenceClassification(cfg), args=args, callbacks=[Slow],
                  train_dataset=Tokens(64, 1), eval_dataset=Tokens(16, 2))
"""
TRAIN = """%%monitor --name nb-hf --alert "val/loss < 10 -> stop" --refresh-hz 20
trainer.train()
"""
CHECK_TRAIN = """
run = nbmonitor.last_run()
hist = [r for r in trainer.state.log_history if "loss" in r]
report(global_step=trainer.state.global_step,
       hf_loss=[r["loss"] for r in hist], hf_steps=[r["step"] for r in hist],
       loss=run.buffer.series("train/loss").arrays()[1].tolist(),
       steps=run.buffer.series("train/loss").arrays()[0].tolist())
"""

BOOST = """
import numpy as np, xgboost as xgb, lightgbm as lgb
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 5)); y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
def slow_lgb(env): time.sleep(0.02)
class SlowXgb(xgb.callback.TrainingCallback):
    def after_iteration(self, model, epoch, evals_log):
        time.sleep(0.02)
        return False
"""
XGB = """%%monitor --name nb-xgb --alert "validation_0/logloss < 0.45 -> stop" --refresh-hz 20
xgbm = xgb.XGBClassifier(n_estimators=300, eval_metric="logloss", n_jobs=1, callbacks=[SlowXgb()])
xgbm.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])], verbose=False)
"""
CHECK_XGB = """
report(rounds=xgbm.get_booster().num_boosted_rounds(),
       mine=nbmonitor.last_run().buffer.series("validation_0/logloss").arrays()[1].tolist(),
       theirs=xgbm.evals_result()["validation_0"]["logloss"])
"""
LGB = """%%monitor --name nb-lgb --alert "valid_0/binary_logloss < 0.45 -> stop" --refresh-hz 20
lgbm = lgb.LGBMClassifier(n_estimators=300, verbose=-1, n_jobs=1)
lgbm.fit(X[:300], y[:300], eval_X=(X[300:],), eval_y=(y[300:],), callbacks=[slow_lgb])
"""
CHECK_LGB = """
report(rounds=lgbm.booster_.num_trees(),
       mine=nbmonitor.last_run().buffer.series("valid_0/binary_logloss").arrays()[1].tolist(),
       theirs=lgbm.evals_result_["valid_0"]["binary_logloss"])
"""


def test_stop_ends_every_kind_of_loop_in_a_real_kernel(tmp_path):
    nb = notebook(SETUP, LOG_NAN, CHECK_LOG, PRINT_STOP, CHECK_PRINT, TRAINER, TRAIN,
                  CHECK_TRAIN, BOOST, XGB, CHECK_XGB, LGB, CHECK_LGB)
    execute(nb, tmp_path, timeout=600)
    cells = nb.cells

    log = result(cells[2])
    assert log["status"] == "stopped"
    assert 37 <= log["done"] < 70 and log["count"] == log["done"] + 1

    printed = result(cells[4])
    assert printed["status"] == "stopped"
    # loss < 0.05 from step 20 on; the alert runs at 20 Hz: stopped well before 300.
    assert 20 <= printed["done"] < 200
    assert printed["steps"] == list(range(printed["done"] + 1))

    hf = result(cells[7])
    assert hf["status"] == "stopped" and hf["total"] == 80
    assert 5 <= hf["global_step"] < 80 and hf["step"] == hf["global_step"]
    assert hf["steps"] == hf["hf_steps"] and hf["loss"] == pytest.approx(hf["hf_loss"])
    assert "loss" not in hf["names"] and "val/loss" in hf["names"]

    for cell in (cells[10], cells[12]):
        boost = result(cell)
        assert boost["status"] == "stopped" and boost["total"] == 300
        assert boost["rounds"] == boost["step"] < 300
        assert boost["mine"] == pytest.approx(boost["theirs"])
