"""Runs that last: an embedded SQLite store of runs, their points and events.

Where the store is, first match wins: an explicit ``store=`` / ``--store PATH``;
the ``NBMONITOR_STORE`` environment variable; ``.nbmonitor/runs.db`` in the
current directory (the notebook's directory, in a kernel). A directory, or a path
ending in ``/`` (created when missing), means ``runs.db`` inside it. ``False``, or
``off`` / ``0`` / ``false`` / ``none`` as a string or in the environment, disables
the store. A ``postgresql://`` URL (there or in the environment) names a
:class:`~.postgres.PostgresStore` instead.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..say import say
from .schema import SCHEMA_VERSION, StoreError
from .sqlite import SqliteStore

DEFAULT = Path(".nbmonitor") / "runs.db"
OFF = {"0", "off", "false", "no", "none"}
_opened: dict[Path, tuple[int, SqliteStore]] = {}
_urls: dict[str, Any] = {}  # PostgresStore per URL
_lock = threading.Lock()

__all__ = ["DEFAULT", "SCHEMA_VERSION", "SqliteStore", "StoreError", "open_for_run",
           "open_store", "reopen", "store_path", "store_url"]


def store_path(spec: Any = None) -> Path | None:
    """The store file ``spec`` names, or None when the store is off."""
    if spec is False:
        return None
    if spec is None or spec is True:
        env = os.environ.get("NBMONITOR_STORE")
        if env is not None and env.strip():
            if env.strip().lower() in OFF:
                return None if spec is None else Path.cwd() / DEFAULT
            spec = env
        else:
            return Path.cwd() / DEFAULT
    if isinstance(spec, str) and spec.strip().lower() in OFF:
        return None
    trailing = isinstance(spec, str) and spec.rstrip().endswith(("/", os.sep))
    path = Path(spec).expanduser()
    if trailing or path.is_dir():
        path = path / "runs.db"
    return path.resolve()


def store_url(spec: Any = None) -> str | None:
    """The ``postgresql://`` URL ``spec`` (or, for None/True, ``NBMONITOR_STORE``)
    names, else None."""
    from .postgres import is_url
    if spec is None or spec is True:
        spec = os.environ.get("NBMONITOR_STORE")
    return spec.strip() if is_url(spec) else None


def open_store(spec: Any = None) -> Any:
    """The store ``spec`` names (see the module docstring), opened once per process
    and file or URL; None when off. Raises :class:`StoreError` for a foreign, corrupt
    or newer file, which is left untouched, or a database it cannot use."""
    from .postgres import PostgresStore
    if isinstance(spec, (SqliteStore, PostgresStore)):
        return spec
    url = store_url(spec)
    if url is not None:
        with _lock:
            hit = _urls.get(url)
            if hit is None:
                hit = _urls[url] = PostgresStore(url)
            else:
                hit.mark_crashed()
            return hit
    path = store_path(spec)
    if path is None:
        return None
    with _lock:
        try:
            inode = path.stat().st_ino
        except OSError:
            inode = -1
        hit = _opened.get(path)
        if hit is not None and hit[0] == inode and inode != -1:
            hit[1].mark_crashed()
            return hit[1]
        store = SqliteStore(path)
        _opened[path] = (store.ino, store)
        return store


def reopen(store: SqliteStore) -> SqliteStore:
    """A fresh store at ``store``'s path (after the file was deleted or replaced),
    remembered for later opens of that path."""
    with _lock:
        new = SqliteStore(store.path)
        _opened[store.path] = (new.ino, new)
        return new


def open_for_run(spec: Any = None) -> SqliteStore | None:
    """:func:`open_store` for a run about to start: a foreign, corrupt or newer file
    raises :class:`StoreError` (a clear message, the file untouched); any other
    failure (an unwritable directory...) is reported on stderr and the run goes
    on without a store."""
    import sqlite3
    try:
        store = open_store(spec)
    except StoreError:
        raise
    except (OSError, sqlite3.Error) as e:
        say(f"nbmonitor: cannot open the run store ({type(e).__name__}: {e}); "
            "this run is not stored")
        return None
    if store is not None and getattr(store, "readonly", None):
        if store.readonly.startswith("PRAGMA quick_check"):
            raise StoreError(f"{store.path} is damaged ({store.readonly}); nbmonitor does "
                             "not write to it. Runs can still be read from it; choose "
                             "another store (--store PATH, store=...) or --store off")
        say(f"nbmonitor: the run store {store.path} is read-only ({store.readonly}); "
            "this run is not stored (its history can still be read)")
        return None
    return store
