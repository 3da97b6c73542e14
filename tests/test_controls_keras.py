"""The learning-rate knob in a real Keras ``fit`` (small), on both backends: a
variable lr is assigned, a schedule is scaled, at a batch boundary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.framework
ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import keras, nbmonitor
    x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    out = {}
    for kind in ("variable", "schedule"):
        keras.utils.set_random_seed(0)
        lr = 0.01 if kind == "variable" else keras.optimizers.schedules.ExponentialDecay(
            0.01, decay_steps=1000, decay_rate=0.5)
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer=keras.optimizers.SGD(lr), loss="binary_crossentropy")
        seen = []
        class Turn(keras.callbacks.Callback):
            def on_train_batch_end(self, b, logs=None):
                run = nbmonitor.current_run()
                if b == 3:
                    out[kind + "_knobs"] = dict(run.knobs)
                    run.set_control("lr", 0.001)
                seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        with nbmonitor.monitor(kind, print_capture=False, meters=False,
                               source="import keras") as run:
            m.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Turn()])
        ev = [e.data for e in run.events if e.kind == "control"]
        out[kind] = {"seen": seen, "events": ev, "status": run.status,
                     "after": type(m.optimizer._learning_rate).__name__}
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_keras_lr_knob_in_fit(backend, tmp_path):
    env = dict(os.environ, KERAS_BACKEND=backend, NBMONITOR_FRONTEND="text",
               NBMONITOR_STORE="off", PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    p = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=240)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, p.stdout[-2000:] + p.stderr[-3000:]
    r = json.loads(line[0][7:])
    v = r["variable"]
    assert r["variable_knobs"] == {"lr": pytest.approx(0.01)}
    assert v["status"] == "finished"
    assert v["seen"][:4] == pytest.approx([0.01] * 4)
    assert v["seen"][4:] == pytest.approx([0.001] * 4), "applied at the next batch begin"
    assert v["events"] == [{"knob": "lr", "old": pytest.approx(0.01),
                            "new": pytest.approx(0.001), "at": 4}]
    s = r["schedule"]
    assert s["seen"][4] == pytest.approx(0.001, rel=1e-2), "the schedule is scaled"
    assert s["seen"][-1] < s["seen"][4], "and keeps decaying"
    assert s["after"] == "ScaledSchedule", "a scaled schedule stays scaled after fit"
