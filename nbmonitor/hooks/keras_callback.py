"""The Keras callbacks that :mod:`nbmonitor.hooks.keras_hooks` appends to ``fit`` and
``evaluate``. Imported only once Keras is; they only write to the run.

Series: every numeric key of the per-batch ``logs`` (``loss``, ``accuracy``, ...)
at the global step; per epoch, the keys that only the epoch logs carry
(``val_loss``, ``val_accuracy``, ...); ``lr``; and ``evaluate/<name>`` for a
top-level ``evaluate()``.

Keras batch logs hold the running mean of the epoch so far (what its progress bar
shows), so the recorded curve is that mean, exactly what any callback sees.
"""
from __future__ import annotations

import sys
import time
from typing import Any

import keras

from .. import knobs, stops

LR_EVERY_S = 0.5  # reading the learning rate costs 60 µs (1 ms with a schedule) on TF
_NOT_SERIES = {"learning_rate", "lr", "batch", "size"}


def read_lr(optimizer: Any) -> float | None:
    """The optimizer's current learning rate (schedules evaluated), or None."""
    if optimizer is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:
        return None


class LrSampler:
    """Records ``lr`` at most every ``LR_EVERY_S`` seconds, or when forced."""

    def __init__(self, buffer: Any, every_s: float = LR_EVERY_S) -> None:
        self.buffer = buffer
        self.every_s = every_s
        self.next_at = 0.0
        self.last: tuple[float, float] | None = None

    def maybe(self, optimizer: Any, step: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self.next_at:
            return
        self.next_at = now + self.every_s
        lr = read_lr(optimizer)
        if lr is not None and (step, lr) != self.last:
            self.last = (step, lr)
            self.buffer.append("lr", step, lr)


def _iterations(optimizer: Any) -> int:
    try:
        return int(keras.ops.convert_to_numpy(optimizer.iterations))
    except Exception:
        return 0


class MonitorCallback(keras.callbacks.Callback):
    """Appended to ``Model.fit``: metrics, steps, epochs, lr, total, stop and pause;
    queued learning-rate changes (``Run.scale_lr``) are applied before a batch.

    The global step is ``optimizer.iterations`` at the start of ``fit`` (or the
    run's step, when larger: a second model in the same cell goes on from there)
    plus the batches done since; Keras's ``batch`` argument restarts each epoch,
    so each epoch's base is where the previous one ended. Counting rather than
    reading ``iterations`` per batch is exact with ``steps_per_execution`` and
    with asynchronous batch callbacks, and costs nothing.
    """

    # Keras dispatches batch-end callbacks to a thread pool when every callback
    # says it is safe (torch backend); saying so keeps that choice as it was.
    async_safe = True

    def __init__(self, run: Any, initial_epoch: int = 0, set_total: bool = True) -> None:
        super().__init__()
        self.run = run
        self.initial_epoch = initial_epoch
        self.set_total = set_total
        self.lr = LrSampler(run.buffer)
        self.base = 0
        self.epoch_base = 0
        self.last = 0
        self.batch_keys: set[str] = set()
        self.watch: Any = None  # a KerasWatch with --watch (per-layer weights)
        self.begun = 0  # batches started in this fit

    # -- train ---------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        run = self.run
        optimizer = getattr(self.model, "optimizer", None)
        self.base = max(run.step, _iterations(optimizer) if optimizer is not None else 0)
        self.epoch_base = self.last = self.base
        run.hooks_count_steps = True
        run.step = self.base
        params = self.params or {}
        epochs, steps = params.get("epochs"), params.get("steps")
        if self.set_total and epochs and steps:
            run.total_steps = self.base + max(0, epochs - self.initial_epoch) * int(steps)
        self.lr.maybe(optimizer, self.base, force=True)
        self._declare_knobs(optimizer)

    def _declare_knobs(self, optimizer: Any) -> None:
        """Make the lr adjustable (a schedule gets a scale) and tell the run."""
        try:
            if optimizer is not None and knobs.keras_lr_holder(optimizer) is not None:
                lr = read_lr(optimizer)
                if lr is not None:
                    self.run.knobs = {"lr": lr}
        except Exception as e:
            print(f"nbmonitor: no learning-rate knob for Keras: {e}", file=sys.stderr)

    def _apply_pending(self) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        for name, value in self.run.take_controls().items():
            try:
                old, new = knobs.apply_keras(optimizer, value)
            except Exception as e:
                print(f"nbmonitor: could not set {name}: {e}", file=sys.stderr)
                continue
            self.run.record_control(name, old, new)
            self.lr.maybe(optimizer, self.last, force=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.watch is not None:
            self.watch.finish(self.model)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            knobs.keras_unwrap(optimizer)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_base = self.last
        self.run.set_epoch(epoch + 1)
        # After the user's callbacks (we come last): a LearningRateScheduler's value.
        self.lr.maybe(getattr(self.model, "optimizer", None), self.last, force=epoch > 0)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        run = self.run
        while run.paused and not run.stop_requested:
            run.wait_resume()
        if run._lr_scale is not None:  # queued by Run.scale_lr (alerts, controls)
            run.apply_pending(getattr(self.model, "optimizer", None))
        if run.has_pending:
            self._apply_pending()
        if run.stop_requested:
            self.model.stop_training = True
            stops.honour(run, "Keras batch")
        if self.watch is not None:
            # Counted here: batch ends may still be running on Keras's thread pool.
            self.begun += 1
            self.watch.before(self.model, self.base + self.begun)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        run = self.run
        step = self.epoch_base + batch + 1
        self.last = step
        if step > run.step:
            run.step = step
        append = run.buffer.append
        for key, value in (logs or {}).items():
            if key in _NOT_SERIES or not isinstance(value, (int, float)):
                continue
            if key not in self.batch_keys:
                self.batch_keys.add(key)
            append(key, step, value)
        self.lr.maybe(getattr(self.model, "optimizer", None), step)
        if run.stop_requested:
            self.model.stop_training = True
            stops.honour(run, "Keras batch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        append = self.run.buffer.append
        for key, value in (logs or {}).items():
            if key in self.batch_keys or key in _NOT_SERIES:
                continue
            if isinstance(value, (int, float)):
                append(key, self.last, value)
        # After ReduceLROnPlateau (it runs before us).
        self.lr.maybe(getattr(self.model, "optimizer", None), self.last, force=True)


class EvaluateCallback(keras.callbacks.Callback):
    """Appended to a top-level ``evaluate()``: its result as ``evaluate/<name>``."""

    def __init__(self, run: Any) -> None:
        super().__init__()
        self.run = run

    def on_test_end(self, logs: dict | None = None) -> None:
        run = self.run
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)):
                run.buffer.append(f"evaluate/{key}", run.step, value)
