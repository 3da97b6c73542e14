"""XGBoost capture with no code change: ``xgboost.train`` and ``XGBModel.fit`` (which
calls it) get a ``TrainingCallback`` for the call (see :mod:`.boosting`).

Every eval metric of every round becomes the series ``<data>/<metric>``
(``validation_0/logloss``, ``train/rmse``: the names of ``evals_result``), at the
round's step; the total is ``num_boost_round`` (``n_estimators``). Stop ends
training after the current round (the callback returns True, as early stopping
does); Pause holds between rounds. ``xgboost.cv`` is not captured.
"""
from __future__ import annotations

import inspect
from typing import Any

from .boosting import BoostState, Rounds, install as _install, patch_everywhere, wrap_train

MODULES = ["xgboost.training", "xgboost", "xgboost.sklearn"]


def callback_for(rounds: Rounds, bound: inspect.BoundArguments) -> Any:
    """The ``TrainingCallback`` recording ``rounds`` of one ``train`` call."""
    from xgboost.callback import TrainingCallback
    total = bound.arguments.get("num_boost_round", 10)

    class NbmonitorCallback(TrainingCallback):
        def before_training(self, model: Any) -> Any:
            rounds.begin(total)
            return model

        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            metrics = [(f"{data}/{metric}", values[-1])
                       for data, by_metric in evals_log.items()
                       for metric, values in by_metric.items()
                       if values and isinstance(values[-1], (int, float))]
            return rounds.round(metrics)

    return NbmonitorCallback()


def _patch(st: BoostState, removers: list) -> None:
    import xgboost.training
    original = xgboost.training.train
    patch_everywhere(original, wrap_train(st, original, callback_for), MODULES, removers)


def install(run: Any):
    """Capture ``xgboost.train``/``XGBModel.fit`` into ``run`` (now, or once imported)."""
    return _install(run, "XGBoost", "xgboost", _patch)
