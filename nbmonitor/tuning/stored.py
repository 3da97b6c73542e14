"""The curves of trials other processes ran, read back from the run store they wrote.

A trial records in its user attrs ``run_id`` and ``store``: where its process wrote
its run (a file path, or a ``postgresql://`` URL with the password hidden). A tuner
that can open that store (the same file on this machine, or the same database: its
own run store, its study's database, or ``NBMONITOR_STORE``, which carry the
password) draws the trial's full objective series from it, as it draws its own;
otherwise the curve is the values the trial reported to Optuna.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..store.postgres import dsn, is_url, safe_url
from .errors import TunerError

Curve = tuple[list[float], list[float]]
DONE = ("COMPLETE", "PRUNED", "FAIL")


def store_ref(spec: Any) -> str | None:
    """What a trial records as its run store for ``spec`` (a session's ``store``
    option): a URL without its password, an absolute file path, or None when off."""
    from ..store import store_path, store_url
    url = store_url(spec) if spec is None or spec is True or isinstance(spec, str) else None
    if url is not None:
        return safe_url(dsn(url))
    path = getattr(spec, "path", None) if spec not in (None, True, False) else None
    if path is not None:  # an open store object
        return str(path)
    try:
        found = store_path(spec)
    except (TypeError, ValueError, OSError):
        return None
    return None if found is None else str(found)


def check_store(spec: Any) -> None:
    """Open the run store a tuner was given (``session={"store": ...}``) before its
    study is touched: a store it cannot use is one :class:`TunerError`, with nothing
    written, rather than a failed trial per run."""
    if spec is None or spec is False:
        return
    from ..store import StoreError, open_store
    try:
        open_store(spec)
    except (StoreError, ImportError, OSError) as e:
        raise TunerError(str(e)) from None


class StoredCurves:
    """Objective curves of other processes' trials, per trial number (finished ones
    read once, running ones at every call)."""

    def __init__(self, tuner: Any) -> None:
        self.tuner = tuner
        self._done: dict[int, Curve] = {}
        self._failed: set[str] = set()

    def _candidates(self) -> list[str]:
        """Store specs this tuner can open, with their credentials."""
        tuner = self.tuner
        specs = [tuner.session_options.get("store"), tuner.storage_url,
                 os.environ.get("NBMONITOR_STORE")]
        return [s for s in specs if isinstance(s, str) and is_url(s)]

    def _open(self, ref: str) -> Any:
        from ..store import open_store
        if is_url(ref):
            spec = next((s for s in self._candidates() if safe_url(dsn(s)) == ref), None)
        else:
            spec = ref if Path(ref).is_file() else None
        if spec is None or ref in self._failed:
            return None
        try:
            return open_store(spec)
        except Exception as e:  # a store we cannot read: the reported values will do
            self._failed.add(ref)
            print(f"nbmonitor tuner: cannot read trial curves from {ref}: "
                  f"{type(e).__name__}: {e}", file=sys.stderr)
            return None

    def curves(self, skip: dict[int, Curve]) -> dict[int, Curve]:
        """Stored objective curve per trial number not in ``skip``."""
        out: dict[int, Curve] = {}
        objective = self.tuner.objective
        for t in self.tuner.study.get_trials(deepcopy=False):
            if t.number in skip:
                continue
            if t.number in self._done:
                out[t.number] = self._done[t.number]
                continue
            run_id, ref = t.user_attrs.get("run_id"), t.user_attrs.get("store")
            if not run_id or not ref:
                continue
            store = self._open(ref)
            if store is None:
                continue
            try:
                pts = store.points(run_id, objective)
            except Exception:
                continue
            if not pts.shape[1]:
                continue
            curve = (pts[0].tolist(), pts[1].tolist())
            out[t.number] = curve
            if t.state.name in DONE:
                self._done[t.number] = curve
        return out
