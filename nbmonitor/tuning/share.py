"""What another process needs to run trials of a tuner's study, kept in the study.

A :class:`~nbmonitor.tuning.tuner.Tuner` records, in the study's user attribute
``nbmonitor``, its *recipe*: the training function as an importable
``module:qualname`` (None for a function a worker cannot import, such as one
defined in a notebook cell), the search space as plain JSON, the fixed values, the
objective and ``report_every``, and the last sweep's method and pruning. ``python
-m nbmonitor.worker STUDY --target module:function`` rebuilds the tuner from that.

The recorded target is only a hint: a worker imports a function the study names
only when told to trust the study (``--trust-study``, ``trust_study=True``).
Importing a module runs its code, and anyone who can write to the study's database
(a shared PostgreSQL, a file in a shared directory) could otherwise make every
worker run ``subprocess:getoutput`` or their own module with their arguments.
Plain data and the standard library only.
"""
from __future__ import annotations

import importlib
import json
import os
import shlex
import socket
from typing import Any, Callable

from .errors import TunerError
from .space import Choice, IntRange, LogUniform, Param, Uniform

ATTR = "nbmonitor"


def worker_id() -> str:
    """``hostname:pid`` of this process (the trial user attr ``worker``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def target_of(fn: Callable[..., Any]) -> str | None:
    """``module:qualname`` under which another process imports ``fn``, or None."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        found = resolve(f"{module}:{qualname}")
    except (ImportError, AttributeError, ValueError):
        return None
    return f"{module}:{qualname}" if found is fn or found == fn else None


def require_target(fn: Callable[..., Any]) -> str:
    """:func:`target_of` ``fn``, or ValueError saying why a worker cannot import it."""
    target = target_of(fn)
    if target is None:
        name = getattr(fn, "__qualname__", repr(fn))
        where = getattr(fn, "__module__", "?")
        raise ValueError(
            f"{name}() from {where!r} cannot be imported by another process (a function "
            f"defined in a notebook cell, a script's __main__ or inside another function); "
            f"move it into a module (say train.py) and import it from there, or start "
            f"workers with --target module:function")
    return target


def worker_command(tuner: Any) -> str:
    """``python -m nbmonitor.worker STUDY --storage URL --target module:function``
    (and ``--store URL`` when the tuner's runs go to a PostgreSQL store), after
    recording ``tuner``'s recipe with its current fixed values."""
    target = require_target(tuner.fn)
    if tuner.storage_url is None:
        raise ValueError("this study is in memory: give the Tuner a storage (a file or a "
                         "database URL) that other processes can open")
    record(tuner)
    command = (f"python -m nbmonitor.worker {shlex.quote(tuner.study_name)} --storage "
               f"{shlex.quote(tuner.storage_url)} --target {target}")
    store = tuner.session_options.get("store")
    if isinstance(store, str) and store.strip().lower().startswith(("postgres", "postgresql")):
        command += f" --store {shlex.quote(store.strip())}"  # the trials' curves, shared
    return command


def resolve(spec: str) -> Callable[..., Any]:
    """The callable ``"package.module:qualname"`` names (ImportError, AttributeError,
    ValueError with the spec in the message)."""
    module, sep, qualname = spec.partition(":")
    if not sep or not module or not qualname:
        raise ValueError(f"a target is 'module:function', got {spec!r}")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"{spec!r}: module {module!r} has no {qualname!r}") from None
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable")
    return obj


def param_to_json(p: Param) -> dict[str, Any]:
    """A searched :class:`Param` as JSON data."""
    if isinstance(p, Uniform):
        return {"kind": "log" if p.log else "uniform", "low": p.low, "high": p.high,
                "grid_points": p.grid_points}
    if isinstance(p, IntRange):
        return {"kind": "int", "low": p.low, "high": p.high, "step": p.step}
    if isinstance(p, Choice):
        return {"kind": "choice", "choices": list(p.choices)}
    raise TypeError(f"cannot record {type(p).__name__} {p.name!r}")


def param_from_json(data: dict[str, Any]) -> Param:
    """The :class:`Param` :func:`param_to_json` wrote."""
    kind = data["kind"]
    if kind in ("uniform", "log"):
        cls = LogUniform if kind == "log" else Uniform
        return cls(data["low"], data["high"], data.get("grid_points", 3))
    if kind == "int":
        return IntRange(data["low"], data["high"], data.get("step", 1))
    if kind == "choice":
        return Choice(data["choices"])
    raise ValueError(f"unknown parameter kind {kind!r} in the study's recipe")


def recipe(tuner: Any, **sweep: Any) -> dict[str, Any]:
    """The recipe of ``tuner`` (``sweep``: ``method``, ``pruning`` of its last sweep)."""
    space = tuner.space
    old = load(tuner.study) or {}
    return {
        "version": 1,
        "target": target_of(tuner.fn),
        "function": getattr(tuner.fn, "__qualname__", None),
        "space": {n: param_to_json(p) for n, p in space.items() if p.searched},
        "fixed": {n: tuner.values[n] for n, p in space.items()
                  if not p.searched and _plain(tuner.values[n])},
        "objective": tuner.objective,
        "report_every": tuner.report_every,
        "method": sweep.get("method", old.get("method", "tpe")),
        "pruning": sweep.get("pruning", old.get("pruning", True)),
    }


def record(tuner: Any, **sweep: Any) -> None:
    """Write ``tuner``'s recipe into its study (only when it changed)."""
    data = recipe(tuner, **sweep)
    if load(tuner.study) != data:
        tuner.study.set_user_attr(ATTR, data)


def load(study: Any) -> dict[str, Any] | None:
    """The recipe recorded in ``study``, or None."""
    data = study.user_attrs.get(ATTR)
    return data if isinstance(data, dict) else None


def fixed_values(data: dict[str, Any], fn: Callable[..., Any]) -> dict[str, Any]:
    """The recorded fixed values that ``fn`` takes (values JSON cannot hold were not
    recorded: those keep ``fn``'s defaults in a worker)."""
    import inspect
    params = inspect.signature(fn).parameters
    return {n: v for n, v in (data.get("fixed") or {}).items() if n in params}


def _plain(value: Any) -> bool:
    """Whether JSON holds ``value`` exactly (numbers, strings, bools, None, lists)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False)) == value
    except (TypeError, ValueError):
        return False


def check_objective(study: Any, name: str, objective: str) -> None:
    """ValueError when study ``name`` was made for another objective (its trials'
    values would mean something else); nothing is written."""
    data = load(study)
    if data is not None and data.get("objective") not in (None, objective):
        raise TunerError(f"study {name!r} was created for objective "
                         f"{data.get('objective')!r}, not {objective!r}: pass "
                         f"objective={data.get('objective')!r} or another study_name")


def choose_target(study_name: str, data: dict[str, Any], target: str | None,
                  trust_study: bool) -> str:
    """The ``module:function`` a worker imports: ``target``, else the recorded one
    only with ``trust_study`` (see the module docstring); ValueError otherwise."""
    if target:
        return target
    recorded = data.get("target")
    if recorded is None:
        raise TunerError(
            f"study {study_name!r} was made from {data.get('function')}(), which other "
            f"processes cannot import (defined in a notebook cell?); pass --target "
            f"module:function naming the same function in an importable module")
    if not trust_study:
        raise TunerError(
            f"study {study_name!r} names {recorded!r} as its training function; pass "
            f"--target {recorded} to run it (or --trust-study to import whatever the "
            f"study names: anyone who can write to its database chooses that code)")
    return recorded


def tuner_from_study(cls: Any, study_name: str, storage: Any, target: str | None,
                     *, trust_study: bool = False, **options: Any) -> Any:
    """A ``cls`` (Tuner) rebuilt from the recipe in study ``study_name`` (see
    :meth:`Tuner.from_study`); it does not write the recipe back."""
    import inspect

    from .engine import load_study
    study = load_study(study_name, storage)
    data = load(study)
    if data is None:
        raise TunerError(f"study {study_name!r} holds no search space: it was not made by "
                         f"nbmonitor.Tuner (or made with record=False)")
    fn = resolve(choose_target(study_name, data, target, trust_study))
    space = {name: param_from_json(d) for name, d in data["space"].items()}
    params = inspect.signature(fn).parameters
    missing = [n for n in space if n not in params]
    if missing and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise TunerError(f"study {study_name!r} searches {missing}, which "
                         f"{getattr(fn, '__qualname__', fn)}() does not take: is it the "
                         f"function the study was made for?")
    tuner = cls(fn, objective=data["objective"], direction=study.direction.name.lower(),
                study_name=study_name, storage=storage, space=space, record=False,
                report_every=data.get("report_every", 10), **options)
    tuner.values.update(fixed_values(data, fn))
    return tuner
