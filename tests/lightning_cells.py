"""Cells of the notebook that ``test_lightning.py`` runs.

Every check cell stores plain values in ``R``; the last cell prints ``R`` as JSON
for the test to assert on. Lightning is first imported inside a monitored cell, so
the import watcher path is the one exercised. Tiny model, 16 steps, one thread.
"""
from __future__ import annotations

SETUP = """\
%load_ext nbmonitor
import sys, json
import nbmonitor
R = {"imported_before": "pytorch_lightning" in sys.modules}
"""

FIT = """\
%%monitor --name pl
import torch
import pytorch_lightning as pl
from torch.utils.data import DataLoader, TensorDataset
torch.set_num_threads(1)
R["patched_on_import"] = hasattr(pl.Trainer.fit, "__wrapped__")
g = torch.Generator().manual_seed(0)
x = torch.randn(96, 4, generator=g)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])

def loaders():
    return (DataLoader(TensorDataset(x[:64], y[:64]), batch_size=8),
            DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16))

class Tiny(pl.LightningModule):
    def __init__(self, stop_at=None):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(4, 1)
        self.stop_at = stop_at
    def training_step(self, batch, i):
        if self.stop_at == (self.current_epoch, i):  # mid-step: before optimizer.step ends
            nbmonitor.current_run().request_stop()
        out = self.net(batch[0])
        loss = torch.nn.functional.mse_loss(out, batch[1])
        self.log("train_loss", loss, prog_bar=True)
        self.log("mae", (out - batch[1]).abs().mean(), on_step=True, on_epoch=True)
        self.log("ep_only", 2 * loss, on_step=False, on_epoch=True)
        return loss
    def on_train_batch_end(self, outputs, batch, i):  # runs after the callbacks
        self.log("late", float(i))
    def validation_step(self, batch, i):
        out = self.net(batch[0])
        self.log("val_loss", torch.nn.functional.mse_loss(out, batch[1]))
        self.log_dict({"val_mae": (out - batch[1]).abs().mean()})
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

class Seen(pl.Callback):
    def __init__(self):
        self.batch, self.val, self.epoch = [], [], []
    def on_train_batch_end(self, t, m, o, b, i):
        cm = t.callback_metrics
        self.batch.append([t.global_step, float(cm["train_loss"]), float(cm["mae_step"])])
    def on_validation_end(self, t, m):
        if not t.sanity_checking:
            cm = t.callback_metrics
            self.val.append([t.global_step, float(cm["val_loss"]), float(cm["val_mae"])])
    def on_train_epoch_end(self, t, m):
        cm = t.callback_metrics
        self.epoch.append([t.global_step, float(cm["mae_epoch"]), float(cm["ep_only"])])

def trainer(*callbacks, summary=True):
    return pl.Trainer(max_epochs=2, limit_train_batches=8, limit_val_batches=2, logger=False,
                      enable_checkpointing=False, enable_model_summary=summary,
                      accelerator="cpu", callbacks=list(callbacks))

seen = Seen()
tr = trainer(seen)
tr.fit(Tiny(), *loaders())
"""

FIT_CHECK = """\
from nbmonitor.grouping import is_meter, group_of
def arr(name):
    s, v, _ = nbmonitor.last_run().buffer.series(name).arrays()
    return [s.tolist(), v.tolist()]
def restored():
    return {"fit": not hasattr(pl.Trainer.fit, "__wrapped__") and "fit" in pl.Trainer.__dict__,
            "log": pl.LightningModule.log.__module__ == "pytorch_lightning.core.module",
            "meta_path": not any(type(f).__name__ == "_ImportWatcher" for f in sys.meta_path)}
run = nbmonitor.last_run()
R["fit"] = {
    "names": sorted(n for n in run.buffer.names() if not is_meter(n)),
    "status": run.status, "step": run.step, "epoch": run.epoch, "total": run.total_steps,
    "global_step": tr.global_step, "stop_owner": run.stop_owner,
    "series": {n: arr(n) for n in ["train/loss", "train_loss", "mae", "mae_epoch", "ep_only",
                                   "val_loss", "val_mae", "late"]},
    "seen": {"batch": seen.batch, "val": seen.val, "epoch": seen.epoch},
    "groups": [group_of(n) for n in ("train_loss", "val_loss", "train/loss")],
    "restored": restored(),
    "callbacks_clean": not any(type(c).__name__ == "NbmonitorCallback" for c in tr.callbacks),
}
"""

STOP = """\
%%monitor --name stopme
tr2 = trainer(summary=False)
tr2.fit(Tiny(stop_at=(0, 2)), *loaders())
R["stop"] = {"after_fit": True, "global_step": tr2.global_step, "state": tr2.state.status.value}
"""

STOP_CHECK = """\
R["stop"].update(status=nbmonitor.last_run().status, step=nbmonitor.last_run().step,
                 val_loss=arr("val_loss"), restored=restored())
"""

BOOM = """\
%%monitor --name boom
class Boom(Tiny):
    def training_step(self, batch, i):
        if i == 2:
            raise ValueError("boom")
        return super().training_step(batch, i)
trainer(summary=False).fit(Boom(), *loaders())
"""

BOOM_CHECK = """\
R["boom"] = {"status": nbmonitor.last_run().status, "restored": restored()}
"""

DUMP = """\
print("RESULT=" + json.dumps(R))
"""
