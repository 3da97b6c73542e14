"""What Keras capture costs: ``model.fit`` wall time with and without nbmonitor.

A small dense model on generated data; each repetition times one ``fit`` bare and
one under ``nbmonitor.monitor`` (text frontend), in alternating order (A B, B A, ...)
in one process, and the result is the median of the per-pair ratios, which shrugs
off this machine's random 1-3 s stalls. ``run()`` returns rows; ``python
benchmarks/bench_keras.py`` prints them as a markdown table.

Environment: ``KERAS_BACKEND`` (default tensorflow), ``BENCH_REPEATS``.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _model(keras: Any, width: int) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _fit_seconds(model: Any, x: Any, y: Any, batch: int, monitored: bool) -> float:
    import nbmonitor
    t0 = time.perf_counter()
    if monitored:
        with nbmonitor.monitor(name="bench", frontend="text", source="keras"):
            model.fit(x, y, epochs=2, batch_size=batch, verbose=0)
    else:
        model.fit(x, y, epochs=2, batch_size=batch, verbose=0)
    return time.perf_counter() - t0


def _quiet(fn, *args: Any) -> float:
    """Call with stderr silenced (the text frontend prints a progress line)."""
    saved, sys.stderr = sys.stderr, open(os.devnull, "w")
    try:
        return fn(*args)
    finally:
        sys.stderr.close()
        sys.stderr = saved


def run(repeats: int | None = None) -> list[dict]:
    """Median ratio monitored/bare ``fit`` time, per case (batch size, width)."""
    import numpy as np
    import keras
    repeats = repeats or int(os.environ.get("BENCH_REPEATS", "7"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 32)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    rows = []
    for batch, width in ((32, 64), (128, 256)):
        model = _model(keras, width)
        _fit_seconds(model, x, y, batch, False)  # build and trace the train function
        bare, mon, ratios = [], [], []
        for i in range(repeats):
            order = (False, True) if i % 2 == 0 else (True, False)
            t = {m: _quiet(_fit_seconds, model, x, y, batch, m) for m in order}
            bare.append(t[False])
            mon.append(t[True])
            ratios.append(t[True] / t[False])
        steps = 2 * -(-len(x) // batch)
        rows.append({
            "backend": keras.backend.backend(), "batch": batch, "width": width,
            "steps": steps, "repeats": repeats,
            "bare_ms_per_step": 1e3 * statistics.median(bare) / steps,
            "monitored_ms_per_step": 1e3 * statistics.median(mon) / steps,
            "median_ratio": statistics.median(ratios),
        })
    return rows


def table(rows: list[dict]) -> str:
    """Rows as a markdown table."""
    head = ("backend", "batch", "width", "steps", "repeats", "bare_ms_per_step",
            "monitored_ms_per_step", "median_ratio")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in head]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
