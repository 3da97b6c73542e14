"""Changing a real optimizer's learning rate from outside the training thread.

Anything that wants the learning rate changed (an alert's ``lr*0.5`` action, a
control) calls :meth:`nbmonitor.run.Run.scale_lr`, which only queues a factor.
The framework hooks call :meth:`Run.apply_pending` with the optimizer at the next
step boundary, on the training thread, which lands here: never in the middle of
an optimizer step, never from another thread.

Supported optimizers:

- torch: every ``param_groups[i]["lr"]`` is multiplied (a tensor ``lr`` in place),
  as ``torch.optim.lr_scheduler.ReduceLROnPlateau`` does, through the same code as
  the dashboard's lr knob (:func:`nbmonitor.knobs.apply_torch`), so schedulers holding
  the optimizer are rescaled too and their schedule goes on from the new value;
- Keras 3: ``optimizer.learning_rate`` is set, as ``keras.callbacks.ReduceLROnPlateau``
  does. An optimizer built with a ``LearningRateSchedule`` cannot be changed:
  :class:`LrNotSettable` says so.
"""
from __future__ import annotations

import math
from typing import Any


class LrNotSettable(TypeError):
    """This optimizer's learning rate cannot be changed from outside."""


def readable_lr(value: Any) -> Any:
    """A learning rate worth recording: a tensor as it is, else a float; None for
    what is not a number (an optimizer's ``lr='auto'``, None): such a group's lr is
    not charted, and training goes on."""
    if value is None or hasattr(value, "device"):
        return value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        import numpy as np
        return float(np.asarray(value))


def scale_lr(optimizer: Any, factor: float) -> tuple[list[float], list[float]]:
    """Multiply ``optimizer``'s learning rate(s) by ``factor``; returns (old, new),
    one value per parameter group (one for Keras)."""
    if not (factor > 0 and math.isfinite(factor)):
        raise ValueError(f"learning-rate factor must be a positive number, got {factor!r}")
    groups = getattr(optimizer, "param_groups", None)
    if groups is not None:  # torch.optim.Optimizer (or anything shaped like it)
        from .knobs import _scale, apply_torch
        old = [_as_float(g["lr"]) for g in groups if g.get("lr") is not None]
        if old and old[0] > 0:  # the knob path: groups in proportion, schedulers too
            apply_torch(optimizer, "lr", old[0] * factor)
        else:
            for g in groups:
                if g.get("lr") is not None:
                    _scale(g, "lr", factor)
        return old, [_as_float(g["lr"]) for g in groups if g.get("lr") is not None]
    if hasattr(optimizer, "learning_rate"):  # Keras 3 optimizer
        schedule = getattr(optimizer, "_learning_rate", None)
        if callable(schedule) and not hasattr(schedule, "assign"):
            raise LrNotSettable("the optimizer's learning rate is a schedule; it cannot "
                                "be scaled (give the optimizer a float learning_rate)")
        before = _as_float(_keras_value(optimizer.learning_rate))
        optimizer.learning_rate = before * factor
        return [before], [_as_float(_keras_value(optimizer.learning_rate))]
    raise LrNotSettable(f"{type(optimizer).__name__} has no learning rate nbmonitor "
                        "knows how to set")


def _keras_value(value: Any) -> Any:
    try:
        import keras
        return keras.ops.convert_to_numpy(value)
    except Exception:
        return value
