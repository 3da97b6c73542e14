"""Plain data read from an Optuna study: the results table and the objective curves.

Trials of other processes (workers on the same storage) appear here like local ones:
their curves are the intermediate values they reported.
"""
from __future__ import annotations

import json
import math
from typing import Any

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
          "RUNNING": "running", "WAITING": "waiting"}


def status(trial: Any) -> str:
    """``complete``, ``pruned``, ``failed``, ``running`` or ``waiting``."""
    return STATES.get(trial.state.name, trial.state.name.lower())


def config_of(trial: Any) -> dict[str, Any]:
    """Every value the training function got (searched and fixed)."""
    config = dict(trial.user_attrs.get("config") or {})
    config.update(trial.params)
    return config


def jsonable(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with values JSON cannot hold written as their repr."""
    out = {}
    for k, v in config.items():
        try:
            json.dumps(v)
            out[k] = v if not (isinstance(v, float) and not math.isfinite(v)) else repr(v)
        except (TypeError, ValueError):
            out[k] = repr(v)
    return out


def table(study: Any, objective: str, names: list[str]) -> "Any":
    """A DataFrame, a row per trial: ``trial``, the hyperparameters, the objective,
    ``status``, ``duration_s``, ``worker`` (``hostname:pid`` that ran it), ``run_id``
    (in that process's run store) and ``error`` (the end of a traceback)."""
    import pandas as pd
    rows = []
    for t in study.get_trials(deepcopy=False):
        config = config_of(t)
        duration = None
        if t.datetime_start is not None and t.datetime_complete is not None:
            duration = (t.datetime_complete - t.datetime_start).total_seconds()
        value = t.value
        if value is None and status(t) in ("pruned", "running"):
            value = _last_intermediate(t)
        row = {"trial": t.number, **{n: config.get(n) for n in names}, objective: value,
               "status": status(t), "duration_s": duration,
               "worker": t.user_attrs.get("worker"), "run_id": t.user_attrs.get("run_id"), "error": t.user_attrs.get("error")}
        rows.append(row)
    columns = ["trial", *names, objective, "status", "duration_s", "worker", "run_id",
               "error"]
    return pd.DataFrame(rows, columns=columns)


def _last_intermediate(trial: Any) -> float | None:
    iv = trial.intermediate_values
    return iv[max(iv)] if iv else None


def curves(study: Any, local: dict[int, tuple[list[float], list[float]]]
           ) -> dict[int, tuple[list[float], list[float]]]:
    """Objective curve per trial number: the recorded series for trials run here,
    else the intermediate values the trial reported (index, value)."""
    out: dict[int, tuple[list[float], list[float]]] = {}
    for t in study.get_trials(deepcopy=False):
        if t.number in local and local[t.number][0]:
            out[t.number] = local[t.number]
        elif t.intermediate_values:
            steps = sorted(t.intermediate_values)
            out[t.number] = ([float(s) for s in steps],
                             [float(t.intermediate_values[s]) for s in steps])
    return out


def fingerprint(study: Any, skip: int | None = None) -> tuple:
    """What changes when a trial is added, ends or reports: (number, state, points
    reported) per trial but ``skip``. Optuna's cache re-reads only unfinished trials."""
    return tuple((t.number, t.state.name, len(t.intermediate_values))
                 for t in study.get_trials(deepcopy=False) if t.number != skip)


def best_number(study: Any) -> int | None:
    """The number of the best complete trial, or None."""
    try:
        return study.best_trial.number
    except ValueError:
        return None
