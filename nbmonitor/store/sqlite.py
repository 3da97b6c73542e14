"""``SqliteStore``: one SQLite file of runs, series, points and events.

One connection per store object, guarded by a lock; short transactions, a busy
timeout, WAL mode: several processes (two kernels, a script and a notebook) can
write the same file at once. Opening a store marks as ``crashed`` the runs left
``running`` by a process that is gone.

A file nbmonitor cannot write (a read-only file or file system) or one that fails
``PRAGMA quick_check`` opens *read-only* (``readonly`` says why): history and
comparison read it, no run is written to it. Text SQLite cannot hold (a string
with a lone surrogate) is stored with ``backslashreplace`` escapes, and JSON that
cannot be encoded (too deep, circular) as ``{"unencodable": "<repr>"}``: a write
never fails on a value.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import codec
from .health import quick_check, writable
from .schema import FMT_CODEC, FMT_RAW, StoreError, connect, connect_readonly, migrate, set_wal
from .values import as_json, as_text, clamp_int

STALE_S = 30.0  # a heartbeat this old means the owner is gone, whatever its pid says
HOST = socket.gethostname()
LIVE_RUNS: set[str] = set()  # ids of runs this process is writing now


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def owner_gone(pid: int | None, host: str | None, heartbeat: float | None,
               now: float) -> bool:
    """Whether a ``running`` run's writer is dead (see module docstring)."""
    age = now - (heartbeat or 0.0)
    if host != HOST or pid is None:
        return age > STALE_S
    if pid == os.getpid():
        return False  # decided by the caller from LIVE_RUNS
    return age > STALE_S or not pid_alive(pid)


def orphaned(rows: Any, now: float) -> list[str]:
    """Ids among ``(id, pid, host, heartbeat)`` rows of ``running`` runs whose writer
    is gone: another process that died, or this one no longer writing them."""
    gone = []
    for rid, pid, host, hb in rows:
        mine = host == HOST and pid == os.getpid()
        if (mine and rid not in LIVE_RUNS) or owner_gone(pid, host, hb, now):
            gone.append(rid)
    return gone


def _decode(fmt: int, blob: bytes, n: int) -> np.ndarray:
    """One column of a chunk row, whichever format wrote it; a malformed one
    raises :class:`codec.CorruptChunk`."""
    if not isinstance(blob, bytes):
        raise codec.CorruptChunk(f"a chunk column is {type(blob).__name__}, not a blob")
    if fmt == FMT_CODEC:
        return codec.decode(blob, n)
    if fmt == FMT_RAW:
        return codec.decode_raw(blob, n)
    raise codec.CorruptChunk(f"unknown chunk format {fmt!r}")


class SqliteStore:
    """The runs of one store file. Thread-safe; cheap to open."""

    def __init__(self, path: str | os.PathLike, check: bool = True) -> None:
        self.path = Path(path).expanduser().resolve()
        self.readonly: str | None = None  # why the store opened read-only, if it did
        self._lock = threading.RLock()
        self._series_ids: dict[tuple[str, str], int] = {}
        if not writable(self.path):
            self._open_readonly("no write permission on the file or its directory")
            return
        self._conn = connect(self.path)
        try:
            migrate(self._conn, self.path)
            set_wal(self._conn)
        except StoreError as e:
            self._conn.close()
            if "readonly" not in str(e) and "read-only" not in str(e):
                raise
            self._open_readonly("a read-only file system")
            return
        except BaseException:
            self._conn.close()
            raise
        if check:
            bad = quick_check(self._conn)
            if bad:
                self._conn.close()
                self._open_readonly(f"PRAGMA quick_check failed: {bad}")
                return
        try:
            self.ino = os.stat(self.path).st_ino
        except OSError:
            self.ino = -1
        self.mark_crashed()

    def _open_readonly(self, why: str) -> None:
        self.readonly = why
        self._conn = connect_readonly(self.path)
        self.ino = -1

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _tx(self, fn, *args) -> Any:
        """Run ``fn(conn, *args)`` in one immediate transaction."""
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only ({self.readonly}); nothing "
                             "can be written to it")
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                out = fn(c, *args)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
            return out

    # -- crash detection ---------------------------------------------------
    def mark_crashed(self) -> list[str]:
        """Mark ``crashed`` the runs whose writing process is gone; their ids."""
        if self.readonly:
            return []
        now = time.time()

        def work(c: sqlite3.Connection) -> list[str]:
            gone = orphaned(c.execute(
                "SELECT id, pid, host, heartbeat FROM runs WHERE status = 'running'"), now)
            for rid in gone:
                c.execute("UPDATE runs SET status = 'crashed', ended = heartbeat, "
                          "error = coalesce(error, 'process ended without closing the run')"
                          " WHERE id = ? AND status = 'running'", (rid,))
            return gone
        return self._tx(work)

    # -- writing (the writer thread) ---------------------------------------
    def insert_run(self, row: dict[str, Any]) -> None:
        """Insert a run row (``running``, heartbeat now, this pid and host)."""
        row = {k: as_text(v) for k, v in row.items()}
        row.update(pid=os.getpid(), host=HOST, heartbeat=time.time())
        for k in ("hparams", "environment"):
            row[k] = as_json(row.get(k) or {})
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        self._tx(lambda c: c.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", row))

    def _series_id(self, c: sqlite3.Connection, run_id: str, name: str,
                   fresh: dict[tuple[str, str], int]) -> int:
        """The id of series ``name``; a new one goes to ``fresh``, cached only once
        its transaction committed (a rolled-back id must never be reused)."""
        key = (run_id, as_text(name))
        sid = self._series_ids.get(key) or fresh.get(key)
        if sid is None:
            c.execute("INSERT OR IGNORE INTO series (run_id, name) VALUES (?, ?)", key)
            sid = c.execute("SELECT id FROM series WHERE run_id = ? AND name = ?",
                            key).fetchone()[0]
            fresh[key] = sid
        return sid

    def write_batch(self, run_id: str, fields: dict[str, Any],
                    points: Iterable[tuple[str, int, np.ndarray]],
                    events: Iterable[tuple[int, Any]]) -> None:
        """In one transaction: points ``(series, start, (3, n) array)``, events
        ``(seq, Event)``, then ``fields`` of the run row and a heartbeat. Points are
        encoded (:mod:`.codec`) before the transaction, outside the lock."""
        encoded = [(name, start + a, pts[:, a:a + codec.MAX_CHUNK],
                    [codec.encode(pts[i, a:a + codec.MAX_CHUNK]) for i in range(3)])
                   for name, start, pts in points
                   for a in range(0, pts.shape[1], codec.MAX_CHUNK)]
        fresh: dict[tuple[str, str], int] = {}

        def work(c: sqlite3.Connection) -> None:
            for name, start, pts, blobs in encoded:
                sid = self._series_id(c, run_id, name, fresh)
                c.execute("INSERT OR REPLACE INTO chunks (series_id, start, n, steps, vals, "
                          "times, fmt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (sid, start, pts.shape[1], *blobs, FMT_CODEC))
                v = pts[1][~np.isnan(pts[1])]
                lo, hi = (float(v.min()), float(v.max())) if len(v) else (None, None)
                c.execute("UPDATE series SET count = :n, last_step = :ls, last_value = :lv, "
                          "min = coalesce(min(min, :lo), :lo, min), "
                          "max = coalesce(max(max, :hi), :hi, max) WHERE id = :sid",
                          {"n": start + pts.shape[1], "ls": float(pts[0, -1]),
                           "lv": float(pts[1, -1]), "lo": lo, "hi": hi, "sid": sid})
            c.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [(run_id, seq, as_text(e.kind), as_text(e.message),
                            float(e.step), e.time, as_json(e.data)) for seq, e in events])
            f = {k: as_text(v) for k, v in fields.items()}
            f["heartbeat"] = time.time()
            if "step" in f:
                f["step"] = clamp_int(f["step"])
            for k in ("hparams", "environment"):
                if k in f:
                    f[k] = as_json(f[k])
            sets = ", ".join(f"{k} = :{k}" for k in f)
            c.execute(f"UPDATE runs SET {sets} WHERE id = :_id", {**f, "_id": run_id})
        self._tx(work)
        self._series_ids.update(fresh)

    # -- editing -----------------------------------------------------------
    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of a run row (``name``, ``tags``...)."""
        fields = {k: as_text(v) for k, v in fields.items()}
        if "tags" in fields:
            fields["tags"] = json.dumps([as_text(t) for t in fields["tags"]])
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        self._tx(lambda c: c.execute(f"UPDATE runs SET {sets} WHERE id = :_id",
                                     {**fields, "_id": run_id}))

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it recorded."""
        self._tx(lambda c: c.execute("DELETE FROM runs WHERE id = ?", (run_id,)))

    # -- reading -----------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query."""
        with self._lock:
            cur = self._conn.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def run_rows(self, where: str = "1", args: tuple = ()) -> list[dict[str, Any]]:
        """Run rows, oldest first, JSON columns decoded. A malformed row (bad JSON,
        a wrong type) is read as far as it goes, with one message per run."""
        from .reading import clean_run_row
        rows = self.query(f"SELECT * FROM runs WHERE {where} ORDER BY started, rowid", args)
        return [clean_run_row(r, self.path) for r in rows]

    def points(self, run_id: str, name: str) -> np.ndarray:
        """Every stored point of a series, ``(3, n)``, in order. Raises
        :class:`codec.CorruptChunk` (a ValueError) for a malformed chunk; each chunk
        is checked against its blob sizes before anything is allocated."""
        from .reading import read_points
        with self._lock:
            cur = self._conn.execute(
                "SELECT c.fmt, c.n, c.steps, c.vals, c.times FROM chunks c "
                "JOIN series s ON c.series_id = s.id WHERE s.run_id = ? "
                "AND s.name = ? ORDER BY c.start", (run_id, name))
            return read_points(cur, _decode)
