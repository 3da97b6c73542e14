"""Which chart a series goes on: train and validation twins of a metric share one."""
from __future__ import annotations

import re

_SPLIT_PREFIX = re.compile(
    r"^(?:train(?:ing)?|val(?:id(?:ation)?)?|test|eval(?:uation)?|dev)(?:_\d+)?(?:[/_\- ]+)",
    re.I)  # (_0: XGBoost's validation_0, LightGBM's valid_0)
_SPLIT_SUFFIX = re.compile(r"(?:[/_\- ]+)(?:train(?:ing)?|val(?:id(?:ation)?)?|test|eval)$", re.I)
_AVG = re.compile(r"^(?:avg|mean|average|running)[_\- ]+", re.I)
METER_PREFIXES = ("gpu", "sys/", "proc/")
_ALIASES = {"learning_rate": "lr", "acc": "accuracy"}


def group_of(name: str) -> str:
    """The chart key of a series: ``val_loss``, ``train/loss``, ``Avg loss`` -> ``loss``.

    Learning rates of several param groups or optimizers (``lr/group1``,
    ``lr/optimizerD``) share the ``lr`` chart, and so do the losses of several
    optimizers (``train/loss/optimizerD``) the ``loss`` chart.
    """
    key = name.strip()
    if key.startswith("lr/"):
        return "lr"
    key = _SPLIT_PREFIX.sub("", key)
    if key.startswith("loss/"):
        return "loss"
    key = _SPLIT_SUFFIX.sub("", key)
    key = _AVG.sub("", key)
    key = key.lower().replace(" ", "_") or name
    return _ALIASES.get(key, key)


def is_meter(name: str) -> bool:
    """Meter series (``gpu0/util``, ``sys/cpu``) are drawn by the meters, not charts."""
    return name.startswith(METER_PREFIXES) and "/" in name


MODEL_PREFIXES = ("grad/norm", "weight/norm/", "update_ratio/")


def is_model_series(name: str) -> bool:
    """Gradient and weight statistics (``grad/norm``, ``update_ratio/fc1``...) are
    drawn by the model panel, not by the metric charts."""
    return name.startswith(MODEL_PREFIXES)
