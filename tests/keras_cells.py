"""Cells of the notebook that ``test_keras.py`` runs on each Keras backend.

Every check cell stores plain values in ``R``; the last cell prints ``R`` as JSON
for the test to assert on. Keras is first imported inside a monitored cell, so the
import watcher path is the one exercised.
"""
from __future__ import annotations

SETUP = """\
import os, json
os.environ["KERAS_BACKEND"] = BACKEND
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
%load_ext nbmonitor
import numpy as np
import nbmonitor
R = {"keras_imported_before": "keras" in __import__("sys").modules}
"""

FIT = """\
%%monitor --name plain
import keras
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
sched = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)

def make(lr=None):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=keras.optimizers.Adam(lr or sched), loss="binary_crossentropy",
              metrics=["accuracy"])
    return m

class Seen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__(); self.batch = []; self.epoch = []
    def on_train_batch_end(self, b, logs=None): self.batch.append(dict(logs))
    def on_epoch_end(self, e, logs=None): self.epoch.append(dict(logs))

seen = Seen()
model = make()
model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, callbacks=[seen], verbose=1)
evaluated = model.evaluate(x, y, verbose=1, return_dict=True)
model.predict(x[:8], verbose=1)
"""

FIT_CHECK = """\
from nbmonitor.grouping import is_meter
run = nbmonitor.last_run(); b = run.buffer
def arr(name):
    s, v, _ = b.series(name).arrays()
    return s.tolist(), v.tolist()
R["fit"] = {
    "names": sorted(n for n in b.names() if not is_meter(n)), "status": run.status, "step": run.step, "epoch": run.epoch,
    "total": run.total_steps, "iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
    "loss": arr("loss"), "accuracy": arr("accuracy"), "val_loss": arr("val_loss"),
    "lr": arr("lr"), "evaluate_loss": arr("evaluate/loss"),
    "seen_loss": [d["loss"] for d in seen.batch], "seen_acc": [d["accuracy"] for d in seen.batch],
    "seen_val_loss": [d["val_loss"] for d in seen.epoch], "evaluated": evaluated,
    "fit_restored": "fit" not in keras.Model.__dict__ and "evaluate" not in keras.Model.__dict__,
}
"""

EARLY = """\
def early_fit():
    m = make(0.05)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.01)
    h = m.fit(x, y, epochs=30, batch_size=64, validation_split=0.25, shuffle=False,
              callbacks=[stop], verbose=0)
    return len(h.epoch), stop.stopped_epoch
R["early_plain"] = early_fit()
"""

EARLY_MONITORED = """\
%%monitor --name early
R["early_monitored"] = early_fit()
"""

EARLY_CHECK = """\
R["early_run"] = {"epoch": nbmonitor.last_run().epoch, "val": len(nbmonitor.last_run().buffer.series("val_loss").arrays()[0])}
"""

STOP = """\
%%monitor --name stopme
class AskStop(keras.callbacks.Callback):
    def on_train_batch_end(self, b, logs=None):
        if b == 2: nbmonitor.current_run().request_stop()
h = make().fit(x, y, epochs=5, batch_size=32, callbacks=[AskStop()], verbose=0)
R["stop"] = {"epochs": len(h.epoch)}
"""

STOP_CHECK = """\
R["stop"].update(status=nbmonitor.last_run().status, step=nbmonitor.last_run().step)
"""

BOOM = """\
%%monitor --name boom
class Boom(keras.callbacks.Callback):
    def on_train_batch_end(self, b, logs=None):
        if b == 2: raise {exc}("boom")
make().fit(x, y, epochs=2, batch_size=32, callbacks=[Boom()], verbose=0)
"""

BOOM_CHECK = """\
owner = next(c for c in keras.optimizers.Optimizer.__mro__ if "apply" in c.__dict__)
R.setdefault("boom", []).append({
    "status": nbmonitor.last_run().status,
    "fit_restored": "fit" not in keras.Model.__dict__ and "evaluate" not in keras.Model.__dict__,
    "apply_restored": not hasattr(owner.__dict__["apply"], "__wrapped__"),
    "meta_path_clean": not any(type(f).__name__ == "_ImportWatcher" for f in __import__("sys").meta_path),
})
"""

CUSTOM_TF = """\
%%monitor --name custom
import tensorflow as tf
m = make()
opt = keras.optimizers.SGD(0.05)
printed = []
for i in range(10):
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(y[:32, None], m(x[:32]))
        loss = tf.reduce_mean(loss)
    opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
    printed.append(round(float(loss), 4))
    print(f"loss: {printed[-1]:.4f}")
"""

CUSTOM_CHECK = """\
from nbmonitor.grouping import is_meter
run = nbmonitor.last_run(); b = run.buffer
R["custom"] = {"step": run.step, "loss": arr("loss"), "printed": printed, "lr": arr("lr")}
"""

DUMP = 'print("RESULT=" + json.dumps(R))'
