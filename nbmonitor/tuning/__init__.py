"""Tuning: a training function's keyword arguments as controls, runs and sweeps.

``nbmonitor.Tuner(train, lr=nbmonitor.LogUniform(1e-5, 1e-1), batch_size=[32, 64])``.
Needs Optuna (``pip install nbmonitor[tune]``); the range classes do not.
"""
from __future__ import annotations

from .space import Choice, Fixed, IntRange, LogUniform, Param, Uniform, build_space

__all__ = ["Choice", "Fixed", "IntRange", "LogUniform", "Param", "Tuner", "Uniform",
           "build_space"]


def __getattr__(name: str):
    if name == "Tuner":
        from .engine import optuna
        optuna()  # ImportError with the install hint when Optuna is missing
        from .tuner import Tuner
        return Tuner
    raise AttributeError(f"module 'nbmonitor.tuning' has no attribute {name!r}")
