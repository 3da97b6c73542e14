"""nbmonitor: live training charts, meters and controls inside Jupyter cells.

``%load_ext nbmonitor`` then ``%%monitor`` on a training cell; or, anywhere,
``with nbmonitor.monitor(name=...):`` and ``nbmonitor.log(loss=...)``.
"""
from __future__ import annotations

from .api import (alert, clear_alerts, config, current_run, last_run, log, monitor, on_alert,
                  wait)
from .buffer import MetricsBuffer, Series, View
from .run import Run

__version__ = "0.1.0"
__all__ = ["MetricsBuffer", "Run", "Series", "View", "alert", "clear_alerts", "config",
           "current_run", "last_run", "log", "monitor", "on_alert", "wait", "load_ipython_extension",
           "__version__", "runs", "load", "rename", "tag", "delete", "StoredRun", "StoreError",
           "Tuner", "LogUniform", "Uniform", "IntRange", "Choice", "inference", "serve"]

# The run history (``nbmonitor.runs()``, ``nbmonitor.load(id)``...) imports pandas,
# so it is loaded on first use.
_LAZY = {"runs": "history", "load": "history", "rename": "history", "tag": "history",
         "delete": "history", "StoredRun": "history", "StoreError": "schema"}
# The tuner needs Optuna (``pip install nbmonitor[tune]``), imported only when used.
_TUNING = {"Tuner", "LogUniform", "Uniform", "IntRange", "Choice"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".store.{_LAZY[name]}", __name__), name)
    if name in ("inference", "serve"):  # needs the serve extra, checked when called
        from . import serving
        return getattr(serving, name)
    if name in _TUNING:
        from . import tuning
        return getattr(tuning, name)
    raise AttributeError(f"module 'nbmonitor' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """Register ``%%monitor`` (``%load_ext nbmonitor``)."""
    from .magic import load_ipython_extension as _load
    _load(ipython)
