"""Knobs: hyperparameters a user turns while a run trains (learning rate, weight
decay, momentum). Plain functions on optimizers; called only by the hooks, on the
training thread, at a step boundary. No widgets here.

Rules (see README "Controls"):

- ``lr`` is *proportional*: every param group's lr is multiplied by new/old, where
  old is group 0's lr at the moment the change is applied, so per-group ratios are
  kept. ``torch.optim.lr_scheduler`` schedulers attached to the optimizer get their
  ``base_lrs`` (and the groups' ``initial_lr``/``max_lr``/``min_lr``) scaled too, so
  the schedule goes on from the new scale instead of snapping back at its next step.
- ``weight_decay`` is proportional too (groups at 0, e.g. biases, stay at 0); when
  every group is at 0 it is set on every group.
- ``momentum`` (SGD, RMSprop) and ``beta1`` (Adam's ``betas[0]``) are set on every
  group that has them.
- Keras: ``lr`` only. A variable learning rate is assigned; a
  ``LearningRateSchedule`` is wrapped at ``fit`` start in :class:`ScaledSchedule`
  (schedule times a scale variable, so a compiled train step sees changes). Keras's
  momentum/weight decay are Python floats baked into the compiled step: not knobs.
"""
from __future__ import annotations

import gc
from typing import Any

# name -> (label, slider min, slider max, log scale)
KNOBS: dict[str, tuple[str, float, float, bool]] = {
    "lr": ("learning rate", 1e-7, 10.0, True),
    "weight_decay": ("weight decay", 1e-7, 1.0, True),
    "momentum": ("momentum", 0.0, 0.999, False),
    "beta1": ("beta1", 0.0, 0.999, False),
}
_LR_KEYS = ("initial_lr", "max_lr", "min_lr")


def _num(v: Any) -> float:
    return float(v.item() if hasattr(v, "item") else v)


def _scale(group: dict, key: str, factor: float) -> None:
    v = group[key]
    if hasattr(v, "mul_"):
        v.mul_(factor)  # a tensor lr (capturable/fused optimizers): in place
    else:
        group[key] = v * factor


# -- torch -------------------------------------------------------------------
def torch_knobs(optimizer: Any) -> dict[str, float]:
    """The knobs ``optimizer`` has and their current values (group 0's)."""
    groups = getattr(optimizer, "param_groups", None) or []
    if not groups:
        return {}
    g = groups[0]
    out: dict[str, float] = {}
    if "lr" in g:
        out["lr"] = _num(g["lr"])
    if "weight_decay" in g:
        out["weight_decay"] = max(_num(gr.get("weight_decay", 0.0)) for gr in groups)
    if "momentum" in g:
        out["momentum"] = _num(g["momentum"])
    elif isinstance(g.get("betas"), (tuple, list)):
        out["beta1"] = _num(g["betas"][0])
    return out


def schedulers_of(optimizer: Any) -> list[Any]:
    """The torch LR schedulers that hold ``optimizer`` (found when a knob turns)."""
    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
    kinds = (LRScheduler, ReduceLROnPlateau)
    found = []
    for r in gc.get_referrers(optimizer):
        if isinstance(r, kinds) and getattr(r, "optimizer", None) is optimizer:
            found.append(r)  # objects with inline attributes (Python 3.11+)
        elif isinstance(r, dict) and r.get("optimizer") is optimizer:
            found += [o for o in gc.get_referrers(r)  # or through their __dict__
                      if isinstance(o, kinds) and getattr(o, "__dict__", None) is r]
    return found


def apply_torch(optimizer: Any, name: str, value: float) -> tuple[float, float]:
    """Set knob ``name`` of ``optimizer`` to ``value``; returns (old, new)."""
    groups = optimizer.param_groups
    old = torch_knobs(optimizer).get(name)
    if old is None:
        raise KeyError(f"optimizer {type(optimizer).__name__} has no {name}")
    if name == "lr":
        factor = value / old if old else None
        for g in groups:
            if factor is None:
                g["lr"] = value if not hasattr(g["lr"], "fill_") else g["lr"].fill_(value)
                continue
            _scale(g, "lr", factor)
            for key in _LR_KEYS:
                if isinstance(g.get(key), (int, float)):
                    g[key] = g[key] * factor
        if factor is not None:
            for sched in schedulers_of(optimizer):
                if getattr(sched, "base_lrs", None):
                    sched.base_lrs = [b * factor for b in sched.base_lrs]
                if getattr(sched, "_last_lr", None):
                    sched._last_lr = [_num(g["lr"]) for g in groups]
    elif name == "weight_decay":
        for g in groups:
            if old > 0:
                g["weight_decay"] = g.get("weight_decay", 0.0) * (value / old)
            else:
                g["weight_decay"] = value
    elif name == "momentum":
        for g in groups:
            if "momentum" in g:
                g["momentum"] = value
    elif name == "beta1":
        for g in groups:
            if isinstance(g.get("betas"), (tuple, list)):
                g["betas"] = (value, *tuple(g["betas"])[1:])
    return float(old), float(torch_knobs(optimizer)[name])


# -- keras -------------------------------------------------------------------
def keras_lr_holder(optimizer: Any) -> Any:
    """Make ``optimizer``'s learning rate adjustable; returns what to assign to
    (its lr variable, or the scale variable of a :class:`ScaledSchedule`), or None."""
    import keras
    from keras.optimizers.schedules import LearningRateSchedule
    lr = getattr(optimizer, "_learning_rate", None)
    if isinstance(lr, _ss()):
        return lr.scale
    if isinstance(lr, LearningRateSchedule):
        scaled = getattr(optimizer, "_nbm_scaled", None)
        if scaled is None or scaled.inner is not lr:
            scaled = _ss()(lr, keras.Variable(1.0, trainable=False, name="nbm_lr_scale"))
            optimizer._nbm_scaled = scaled
        optimizer._learning_rate = scaled
        return scaled.scale
    if isinstance(lr, keras.Variable):
        return lr
    return None


def keras_unwrap(optimizer: Any) -> None:
    """At ``fit`` end: put the user's schedule back unless a knob scaled it."""
    lr = getattr(optimizer, "_learning_rate", None)
    if isinstance(lr, _ss()) and float(_np(lr.scale)) == 1.0:
        optimizer._learning_rate = lr.inner


def _np(v: Any) -> Any:
    import keras
    return keras.ops.convert_to_numpy(v)


def apply_keras(optimizer: Any, value: float) -> tuple[float, float]:
    """Set the Keras optimizer's current lr to ``value`` (a schedule is scaled)."""
    import keras
    holder = keras_lr_holder(optimizer)
    if holder is None:
        raise KeyError(f"cannot change the learning rate of {type(optimizer).__name__}")
    old = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    if isinstance(optimizer._learning_rate, _ss()):
        scale = float(keras.ops.convert_to_numpy(holder))
        holder.assign(scale * value / old if old else 1.0)
    else:
        holder.assign(value)
    return old, float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _scaled_schedule_class():
    from keras.optimizers.schedules import LearningRateSchedule

    class ScaledSchedule(LearningRateSchedule):
        """A user's schedule times a scale variable (what the ``lr`` knob turns)."""

        def __init__(self, inner: Any, scale: Any) -> None:
            self.inner = inner
            self.scale = scale

        def __call__(self, step: Any) -> Any:
            import keras
            return self.inner(step) * keras.ops.cast(self.scale, "float32")

        def get_config(self) -> dict:
            return self.inner.get_config()

    return ScaledSchedule


_SCALED: list = []


def _ss() -> type:
    """:class:`ScaledSchedule`, built on first use (importing Keras is slow)."""
    if not _SCALED:
        _SCALED.append(_scaled_schedule_class())
    return _SCALED[0]


def __getattr__(name: str) -> Any:
    if name == "ScaledSchedule":
        return _ss()
    raise AttributeError(name)
