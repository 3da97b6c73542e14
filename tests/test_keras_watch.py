"""A watched Keras ``fit`` (torch backend, real kernel through nbclient): per-layer
weight norms and update ratios every N steps equal the weights a callback saw."""
import importlib.util

import pytest

from .nbutil import execute, notebook, result

if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is not installed", allow_module_level=True)

pytestmark = [pytest.mark.framework, pytest.mark.notebook]

SETUP = """
import os, json
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras, nbmonitor
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="hidden"),
                          keras.layers.Dense(1, name="out")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
x = np.random.default_rng(0).normal(size=(320, 8)).astype("float32")
y = x[:, :1] * 2.0

class Weights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__(); self.seen = {}
    def on_train_batch_begin(self, b, logs=None):
        self.seen.setdefault("begin", []).append(
            {l.name: [np.array(keras.ops.convert_to_numpy(w), dtype="float64") for w in l.trainable_weights]
             for l in self.model.layers})
"""

FIT = """%%monitor --name kwatch --watch --watch-every 4
seen = Weights()
model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[seen])
"""

CHECK = """
run = nbmonitor.last_run()
begins = seen.seen["begin"]
final = {l.name: [np.array(keras.ops.convert_to_numpy(w), dtype="float64") for w in l.trainable_weights]
         for l in model.layers}
def norm(ws): return float(np.sqrt(sum((w * w).sum() for w in ws)))
want = {}
for layer in ("hidden", "out"):
    rows = []
    for step in range(1, 21):
        if step == 1 or step % 4 == 0:
            b = begins[step - 1][layer]
            a = begins[step][layer] if step < 20 else final[layer]
            rows.append([step, norm(b), norm([p - q for p, q in zip(a, b)]) / norm(b)])
    want[layer] = rows
got = {}
for layer in ("hidden", "out"):
    s, r, _ = run.buffer.series(f"update_ratio/{layer}").arrays()
    w = run.buffer.series(f"weight/norm/{layer}").arrays()[1]
    got[layer] = [[a, b, c] for a, b, c in zip(s.tolist(), w.tolist(), r.tolist())]
print(json.dumps({"status": run.status, "want": want, "got": got}))
"""


def test_watched_keras_fit_records_weight_norms_and_update_ratios(tmp_path):
    nb = execute(notebook("%load_ext nbmonitor", SETUP, FIT, CHECK), tmp_path)
    r = result(nb.cells[3])
    assert r["status"] == "finished"
    for layer in ("hidden", "out"):
        assert [row[0] for row in r["got"][layer]] == [1, 4, 8, 12, 16, 20]
        assert r["got"][layer] == [pytest.approx(row, rel=1e-5) for row in r["want"][layer]]
