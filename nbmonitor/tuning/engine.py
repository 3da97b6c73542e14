"""Optuna studies for nbmonitor: where they are stored, and the samplers and pruners
of a sweep. The only module besides :mod:`.objective` that talks to Optuna."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from .errors import TunerError
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


class StorageError(TunerError):
    """The study storage cannot be opened (one line: what and why, no password)."""


def default_storage() -> str | None:
    """``sqlite:///<store dir>/tuning.db`` beside the run store (``NBMONITOR_STORE``
    respected; a ``postgresql://`` store holds the study too); None (in memory)
    when the run store is off."""
    from ..store import store_path, store_url
    url = store_url()
    if url is not None:
        return url
    path = store_path()
    if path is None:
        return None
    directory = Path(path).parent
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'tuning.db'}"


def sqlalchemy_url(url: str) -> str:
    """``url`` for SQLAlchemy: ``postgres://`` and ``postgresql://`` go through
    psycopg 3 (``postgresql+psycopg://``) unless psycopg2 is installed."""
    import importlib.util
    scheme, sep, rest = url.strip().partition("://")
    if sep and scheme.lower() in ("postgres", "postgresql"):
        if scheme.lower() == "postgres" or importlib.util.find_spec("psycopg2") is None:
            return f"postgresql+psycopg://{rest}"
    return url.strip()


def open_storage(url: str, heartbeat: int | None = None, retry_failed: int = 0) -> Any:
    """An Optuna RDB storage for ``url``: heartbeats every ``heartbeat`` seconds (None:
    off), a trial whose process died failed after the grace period and re-queued up
    to ``retry_failed`` times. :class:`StorageError` when it cannot be opened."""
    from ..store.postgres import safe_url
    from .heartbeat import grace_period, quiet_optuna
    op = optuna()
    if heartbeat is not None and (isinstance(heartbeat, bool) or not (
            isinstance(heartbeat, int) and 0 <= heartbeat <= 3600)):
        raise TunerError(f"heartbeat is whole seconds from 1 to 3600 (None or 0: off), "
                         f"got {heartbeat!r}")
    if not (isinstance(retry_failed, int) and 0 <= retry_failed <= 1000):
        raise TunerError(f"retry_failed is 0 to 1000, got {retry_failed!r}")
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:"):  # wait for a busy file (several writers)
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 30}}
    if heartbeat:
        quiet_optuna()
        kwargs.update(heartbeat_interval=int(heartbeat), grace_period=grace_period(
            int(heartbeat)))
        if retry_failed:
            kwargs["failed_trial_callback"] = op.storages.RetryFailedTrialCallback(
                max_retry=int(retry_failed))
    try:
        return op.storages.RDBStorage(sqlalchemy_url(url), **kwargs)
    except ImportError as e:
        raise ImportError(f"the study storage {safe_url(url)} needs a database driver "
                          f"({e}): pip install nbmonitor[postgres]") from None
    except Exception as e:
        raise StorageError(f"cannot open the study storage {safe_url(url)}: "
                           f"{first_line(e)}") from None


def first_line(e: BaseException) -> str:
    """The first line of a database error (the driver's own, not SQLAlchemy's)."""
    inner = getattr(e, "orig", None) or e
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__


def _storage(storage: Any, heartbeat: int | None, retry_failed: int) -> Any:
    """``storage`` (a URL, an Optuna storage, None for memory) ready for a study."""
    if isinstance(storage, str):
        return open_storage(storage, heartbeat, retry_failed)
    return storage


def open_study(name: str, storage: Any, direction: str, *, heartbeat: int | None = None,
               retry_failed: int = 0) -> Any:
    """Create or load the study ``name`` in ``storage`` (a URL, an Optuna storage,
    ``None`` for the default file, ``":memory:"`` for memory only)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    op = optuna()
    if storage is None:
        storage = default_storage()
    elif storage == ":memory:":
        storage = None
    rdb = _storage(storage, heartbeat, retry_failed)
    try:
        study = op.create_study(study_name=name, storage=rdb, direction=direction,
                                load_if_exists=True)
    except Exception as e:
        if isinstance(e, (ValueError, TypeError)):
            raise
        raise StorageError(f"cannot open study {name!r}: {first_line(e)}") from None
    if study.direction.name.lower() != direction:
        raise TunerError(f"study {name!r} already exists with direction "
                         f"{study.direction.name.lower()}, not {direction}")
    return study


def storage_url(study: Any) -> str | None:
    """The database URL of ``study``'s storage, None when it is in memory."""
    storage = study._storage
    storage = getattr(storage, "_backend", storage)  # Optuna's cache around an RDB
    url = getattr(storage, "url", None)
    if not isinstance(url, str):
        return None
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def load_study(name: str, storage: Any, *, heartbeat: int | None = None,
               retry_failed: int = 0) -> Any:
    """The existing study ``name`` in ``storage`` (a URL, None for the default file);
    ValueError naming the studies there when it does not exist."""
    from ..store.postgres import safe_url
    op = optuna()
    url = default_storage() if storage is None else storage
    if url is None or url == ":memory:":
        raise TunerError("a worker needs a storage other processes share: pass --storage URL")
    rdb = _storage(url, heartbeat, retry_failed)
    try:
        names = op.study.get_all_study_names(rdb)
    except Exception as e:
        raise StorageError(f"cannot read the studies of {safe_url(str(url))}: "
                           f"{first_line(e)}") from None
    if name not in names:
        raise TunerError(f"no study {name!r} in {safe_url(str(url))}; studies there: {names}")
    return op.load_study(study_name=name, storage=rdb)


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


def tell(study: Any, trial: Any, outcome: Any) -> bool:
    """Record ``outcome`` (an :class:`~.objective.Outcome`) as the trial's state;
    False (and one line on stderr) when the trial was already ended elsewhere (failed
    by another process that took this one for dead: its heartbeats were late)."""
    op = optuna()
    State = op.trial.TrialState
    try:
        if outcome.run is not None:
            trial.set_user_attr("run_id", outcome.run.id)
        if outcome.state == "complete":
            study.tell(trial, outcome.value)
        elif outcome.state == "pruned":
            study.tell(trial, state=State.PRUNED)
        else:
            trial.set_user_attr("error", outcome.error)
            study.tell(trial, state=State.FAIL)
    except (op.exceptions.UpdateFinishedTrialError, ValueError, RuntimeError) as e:
        print(f"nbmonitor tuner: trial {trial.number} was ended elsewhere meanwhile "
              f"({first_line(e)}); its result is not recorded", file=sys.stderr)
        return False
    return True
