"""The store's schema, its migrations, and the checks that refuse foreign files.

The version lives in ``PRAGMA user_version``; ``MIGRATIONS[i]`` takes a store
from version ``i`` to ``i + 1``. A new version appends one entry and never edits
an old one. The ``nbmonitor`` table marks a file as ours: a SQLite file with
tables but without it is someone else's, and is never written to.

Points are stored in chunks: one ``chunks`` row holds consecutive points of one
series as three blobs (steps, values, times). The writer appends one chunk per
series per batch, so writing costs one row per series per second however many
points were logged. The ``fmt`` column (schema 2) says how the blobs are encoded:
``FMT_RAW`` (0, every row of schema 1): little-endian float64, 24 bytes a point;
``FMT_CODEC`` (1): each blob encoded by :mod:`nbmonitor.store.codec`, exact and
typically 2-10 bytes a point.
The ``series`` table keeps running statistics (count, last, min, max) so that
listing runs reads no points.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable

SQLITE_MAGIC = b"SQLite format 3\x00"
APP = "nbmonitor"

_V1 = """
CREATE TABLE nbmonitor (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
    notebook TEXT, source TEXT, source_hash TEXT,
    started REAL NOT NULL, ended REAL, heartbeat REAL,
    pid INTEGER, host TEXT, step INTEGER DEFAULT 0, error TEXT,
    hparams TEXT DEFAULT '{}', environment TEXT DEFAULT '{}', tags TEXT DEFAULT '[]');
CREATE INDEX runs_started ON runs (started);
CREATE INDEX runs_status ON runs (status);
CREATE TABLE series (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL, count INTEGER DEFAULT 0, last_step REAL, last_value REAL,
    min REAL, max REAL, UNIQUE (run_id, name));
CREATE TABLE chunks (
    series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    start INTEGER NOT NULL, n INTEGER NOT NULL,
    steps BLOB NOT NULL, vals BLOB NOT NULL, times BLOB NOT NULL,
    PRIMARY KEY (series_id, start));
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    kind TEXT, message TEXT, step REAL, time REAL, data TEXT,
    PRIMARY KEY (run_id, seq));
"""


def _v1(conn: sqlite3.Connection) -> None:
    for stmt in filter(str.strip, _V1.split(";")):
        conn.execute(stmt)
    conn.execute("INSERT INTO nbmonitor VALUES ('app', ?)", (APP,))


FMT_RAW, FMT_CODEC = 0, 1


def _v2(conn: sqlite3.Connection) -> None:
    """Chunks get an encoding tag; the rows already there are float64 (FMT_RAW).
    Adding a column with a constant default rewrites no row, however big the file."""
    conn.execute(f"ALTER TABLE chunks ADD COLUMN fmt INTEGER NOT NULL DEFAULT {FMT_RAW}")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The store cannot be used: foreign, corrupt, or from a newer nbmonitor."""


def _hint(path: Path) -> str:
    return (f"move it away, or choose another store (--store PATH, store=..., "
            f"NBMONITOR_STORE), or disable the store (--store off, store=False). "
            f"nbmonitor never overwrites {path}")


def check_file(path: Path) -> None:
    """Refuse a file that exists and is not a SQLite database (never touch it)."""
    if not path.exists():
        return
    if path.is_dir():
        raise StoreError(f"nbmonitor store {path} is a directory; {_hint(path)}")
    with open(path, "rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise StoreError(f"{path} is not an nbmonitor store (not a SQLite file); "
                         + _hint(path))


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Check the schema and bring it to :data:`SCHEMA_VERSION`; returns the version.

    Runs in one ``BEGIN IMMEDIATE`` transaction so two processes opening a new
    store at once do not both create it.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a usable nbmonitor store ({e}); "
                         + _hint(path)) from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables:
            raise StoreError(f"{path} is a SQLite database of another program "
                             f"(tables: {', '.join(sorted(tables)[:5])}); " + _hint(path))
        if version and "nbmonitor" not in tables:
            raise StoreError(f"{path} is a SQLite database of another program; "
                             + _hint(path))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} was written by a newer nbmonitor (schema {version}; "
                             f"this one reads up to {SCHEMA_VERSION}): upgrade nbmonitor "
                             "(pip install -U nbmonitor) or use another store")
        for v in range(version, SCHEMA_VERSION):
            MIGRATIONS[v](conn)
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException as e:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(e, sqlite3.DatabaseError):
            raise StoreError(f"{path} is not a usable nbmonitor store ({e}); "
                             + _hint(path)) from None
        raise
    return SCHEMA_VERSION


def connect(path: Path, timeout: float = 10.0) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout, after :func:`check_file`.

    The connection is in autocommit mode (``isolation_level=None``): callers open
    their own transactions.
    """
    check_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(os.fspath(path), timeout=timeout, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``; ``immutable=1`` when even the WAL index
    cannot be made, on a read-only file system), after checking the file is a
    store this nbmonitor reads."""
    check_file(path)
    if not path.exists():
        raise StoreError(f"no nbmonitor store at {path}, and it cannot be created there "
                         "(read-only)")
    uri = path.resolve().as_uri()
    conn = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(uri + query, uri=True, isolation_level=None,
                                   check_same_thread=False)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            break
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            conn, err = None, e
    if conn is None:
        raise StoreError(f"{path} is not a readable nbmonitor store ({err}); "
                         + _hint(path)) from None
    if "nbmonitor" not in tables or version == 0:
        conn.close()
        raise StoreError(f"{path} is a SQLite database of another program; " + _hint(path))
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(f"{path} has schema {version} (this nbmonitor reads "
                         f"{SCHEMA_VERSION}) and is read-only, so it cannot be migrated")
    return conn


def set_wal(conn: sqlite3.Connection) -> None:
    """WAL journal, NORMAL sync: a killed process loses nothing committed."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
