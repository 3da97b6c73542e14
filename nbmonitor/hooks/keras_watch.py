"""Per-layer weight norms and update ratios of a watched Keras ``fit``.

``fit`` does not hand gradients to callbacks, so Keras gets the weight side only:
on watched steps (the first, then every ``every``-th global step) the weights of
each layer are copied to the host before the batch and compared with the weights
at the start of the next batch (or at the end of training), which is where the
step's update is complete even when Keras runs batch-end callbacks on a thread.
Series: ``weight/norm/<layer>`` (before the step) and ``update_ratio/<layer>``
= ||w_after - w_before|| / ||w_before||, like the torch watch.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _layer_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else path


class KerasWatch:
    """Called by the monitor callback at batch starts and at the end of training."""

    def __init__(self, run: Any, every: int = 50) -> None:
        self.run = run
        self.every = max(1, int(every))
        self._pending: tuple[int, dict[str, list[np.ndarray]]] | None = None

    def _weights(self, model: Any) -> dict[str, list[np.ndarray]]:
        import keras
        out: dict[str, list[np.ndarray]] = {}
        for v in model.trainable_variables:
            path = getattr(v, "path", None) or getattr(v, "name", "w")
            value = np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64)
            out.setdefault(_layer_of(path), []).append(value)
        if len(out) > 1:  # drop the model's own name, shared by every path
            heads = {k.split("/", 1)[0] for k in out}
            if len(heads) == 1 and all("/" in k for k in out):
                out = {k.split("/", 1)[1]: v for k, v in out.items()}
        return out

    def before(self, model: Any, step: int) -> None:
        """Batch ``step`` (global) is about to run."""
        self.finish(model)
        if step == 1 or step % self.every == 0:
            self._pending = (step, self._weights(model))

    def finish(self, model: Any) -> None:
        """Record the watched step whose update is now complete, if any."""
        if self._pending is None:
            return
        step, before = self._pending
        self._pending = None
        after = self._weights(model)
        append = self.run.buffer.append
        for layer, ws in before.items():
            now = after.get(layer)
            if now is None or len(now) != len(ws):
                continue
            w = float(np.sqrt(sum(float(np.sum(a * a)) for a in ws)))
            d = float(np.sqrt(sum(float(np.sum((b - a) ** 2)) for a, b in zip(ws, now))))
            append(f"weight/norm/{layer}", step, w)
            append(f"update_ratio/{layer}", step, d / w if w > 0 else 0.0)
