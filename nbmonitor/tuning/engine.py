"""Optuna studies for nbmonitor: where they are stored, and the samplers and pruners
of a sweep. The only module besides :mod:`.objective` that talks to Optuna."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .space import Param

METHODS = ("grid", "random", "tpe")
INSTALL_HINT = "the tuner needs Optuna: pip install nbmonitor[tune]"


def optuna() -> Any:
    """The optuna module, or ImportError with the install hint."""
    try:
        import optuna as _optuna
    except ImportError as e:  # pragma: no cover - optuna is there in the test env
        raise ImportError(INSTALL_HINT) from e
    _optuna.logging.set_verbosity(_optuna.logging.WARNING)
    return _optuna


def default_storage() -> str | None:
    """``sqlite:///<store dir>/tuning.db`` beside the run store (``NBMONITOR_STORE``
    respected); None (in memory) when the run store is off."""
    from ..store import store_path
    path = store_path()
    if path is None:
        return None
    directory = Path(path).parent
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'tuning.db'}"


def open_study(name: str, storage: Any, direction: str) -> Any:
    """Create or load the study ``name`` in ``storage`` (a URL, an Optuna storage,
    ``None`` for the default file, ``":memory:"`` for memory only)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    op = optuna()
    if storage is None:
        storage = default_storage()
    elif storage == ":memory:":
        storage = None
    study = op.create_study(study_name=name, storage=_rdb(storage), direction=direction,
                            load_if_exists=True)
    if study.direction.name.lower() != direction:
        raise ValueError(f"study {name!r} already exists with direction "
                         f"{study.direction.name.lower()}, not {direction}")
    return study


def storage_url(study: Any) -> str | None:
    """The database URL of ``study``'s storage, None when it is in memory."""
    storage = study._storage
    storage = getattr(storage, "_backend", storage)  # Optuna's cache around an RDB
    url = getattr(storage, "url", None)
    return url if isinstance(url, str) else None


def load_study(name: str, storage: Any) -> Any:
    """The existing study ``name`` in ``storage`` (a URL, None for the default file);
    ValueError naming the studies there when it does not exist."""
    op = optuna()
    url = default_storage() if storage is None else storage
    if url is None or url == ":memory:":
        raise ValueError("a worker needs a storage other processes share: pass --storage URL")
    storage = _rdb(url)
    names = op.study.get_all_study_names(storage)
    if name not in names:
        raise ValueError(f"no study {name!r} in {url}; studies there: {names}")
    return op.load_study(study_name=name, storage=storage)


def _rdb(storage: Any) -> Any:
    """A sqlite URL as an RDB storage that waits for a busy file (several writers)."""
    if isinstance(storage, str) and storage.startswith("sqlite:"):
        return optuna().storages.RDBStorage(storage, engine_kwargs={
            "connect_args": {"timeout": 30}})
    return storage


def grid_space(space: dict[str, Param]) -> dict[str, list[Any]]:
    """The values a grid search tries, per searched parameter."""
    return {n: p.grid() for n, p in space.items() if p.searched}


def grid_size(space: dict[str, Param]) -> int:
    """How many trials a full grid is."""
    return math.prod(len(v) for v in grid_space(space).values())


def sampler(method: str, space: dict[str, Param], n_trials: int, seed: int | None) -> Any:
    """The Optuna sampler of ``method`` (``grid``, ``random`` or ``tpe``)."""
    op = optuna()
    if method == "grid":
        class AskTellGridSampler(op.samplers.GridSampler):
            """GridSampler calls ``study.stop()`` once the grid is done, which only
            ``optimize`` allows; the sweep's own trial count ends an ask/tell sweep."""

            def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
                return None
        return AskTellGridSampler(grid_space(space), seed=seed)
    if method == "random":
        return op.samplers.RandomSampler(seed=seed)
    if method == "tpe":
        startup = max(2, min(10, n_trials // 3))
        return op.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    raise ValueError(f"unknown sweep method {method!r}; use one of {METHODS}")


def pruner(pruning: bool | Any, n_startup: int = 4, n_warmup: int = 2) -> Any:
    """A median pruner (``True``: after ``n_startup`` finished trials, from a trial's
    ``n_warmup + 1``-th report, so trials show a trend first), no pruning
    (``False``), or the pruner given."""
    op = optuna()
    if pruning is True:
        return op.pruners.MedianPruner(n_startup_trials=n_startup, n_warmup_steps=n_warmup)
    if pruning is False or pruning is None:
        return op.pruners.NopPruner()
    return pruning


def distributions(space: dict[str, Param]) -> dict[str, Any]:
    """Optuna distributions of the searched parameters."""
    return {n: p.distribution() for n, p in space.items() if p.searched}


def tell(study: Any, trial: Any, outcome: Any) -> None:
    """Record ``outcome`` (an :class:`~.objective.Outcome`) as the trial's state."""
    State = optuna().trial.TrialState
    if outcome.run is not None:
        trial.set_user_attr("run_id", outcome.run.id)
    if outcome.state == "complete":
        study.tell(trial, outcome.value)
    elif outcome.state == "pruned":
        study.tell(trial, state=State.PRUNED)
    else:
        trial.set_user_attr("error", outcome.error)
        study.tell(trial, state=State.FAIL)
