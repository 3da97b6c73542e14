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

    Learning rates of several param groups (``lr/group1``) share the ``lr`` chart.
    """
    key = name.strip()
    if key.startswith("lr/"):
        return "lr"
    key = _SPLIT_PREFIX.sub("", key)
    key = _SPLIT_SUFFIX.sub("", key)
    key = _AVG.sub("", key)
    key = key.lower().replace(" ", "_") or name
    return _ALIASES.get(key, key)


def is_meter(name: str) -> bool:
    """Meter series (``gpu0/util``, ``sys/cpu``) are drawn by the meters, not charts."""
    return name.startswith(METER_PREFIXES) and "/" in name
