"""LightGBM capture with no code change: ``lightgbm.train`` and ``LGBMModel.fit``
(which calls it) get a callback for the call (see :mod:`.boosting`).

Every eval metric of every round becomes the series ``<data>/<metric>``
(``valid_0/l2``, ``training/binary_logloss``: the names of ``record_evaluation``),
at the round's step; the total is the call's number of rounds
(``num_boost_round``/``n_estimators``, or a ``num_iterations`` alias in ``params``).
Stop ends training after the current round by raising LightGBM's own
``EarlyStopException`` (the booster keeps every round done: ``best_iteration`` is
the last one); Pause holds between rounds. ``lightgbm.cv`` is not captured.
"""
from __future__ import annotations

import inspect
from typing import Any

from .boosting import BoostState, Rounds, install as _install, patch_everywhere, wrap_train

MODULES = ["lightgbm.engine", "lightgbm", "lightgbm.sklearn"]


def callback_for(rounds: Rounds, bound: inspect.BoundArguments) -> Any:
    """The callback recording ``rounds`` of one ``train`` call."""
    from lightgbm.callback import EarlyStopException
    started = []

    def callback(env: Any) -> None:
        if not started:
            started.append(True)
            rounds.begin(env.end_iteration - env.begin_iteration)
        metrics = [(f"{r[0]}/{r[1]}", r[2]) for r in env.evaluation_result_list or ()
                   if isinstance(r[2], (int, float))]
        if rounds.round(metrics):
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])

    callback.order = 40  # after record_evaluation (20) and early_stopping (30)
    return callback


def _patch(st: BoostState, removers: list) -> None:
    import lightgbm.engine
    original = lightgbm.engine.train
    patch_everywhere(original, wrap_train(st, original, callback_for), MODULES, removers)


def install(run: Any):
    """Capture ``lightgbm.train``/``LGBMModel.fit`` into ``run`` (now, or once imported)."""
    return _install(run, "LightGBM", "lightgbm", _patch)
