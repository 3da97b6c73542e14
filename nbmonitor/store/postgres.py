"""``PostgresStore``: the run store in a PostgreSQL database (``postgresql://...``).

The same interface as :class:`~nbmonitor.store.sqlite.SqliteStore` (``insert_run``,
``write_batch``, ``update_run``, ``delete_run``, ``mark_crashed``, ``query``,
``run_rows``, ``points``), the same tables and the same chunk encoding
(:mod:`.codec`), in the schema ``nbmonitor`` so that one database can hold both a
tuner's Optuna study (schema ``public``) and the runs of every machine of a sweep.
Needs psycopg 3 (``pip install nbmonitor[postgres]``).

One connection per store object, guarded by a lock; a connection lost between two
batches is reopened at the next one. Series ids are cached only once the
transaction that created them committed.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Iterable

import numpy as np

from . import codec
from .postgres_schema import PREFIXES, SCHEMA, dsn, is_url, migrate, safe_url
from .schema import FMT_CODEC, FMT_RAW, StoreError
from .sqlite import HOST, orphaned
from .values import as_json, as_pg_text

__all__ = ["PREFIXES", "PostgresStore", "SCHEMA", "dsn", "is_url", "safe_url"]
INSTALL_HINT = "a postgresql:// run store needs psycopg 3: pip install nbmonitor[postgres]"


def _decode(fmt: int, blob: bytes, n: int) -> np.ndarray:
    """One column of a chunk row."""
    if fmt == FMT_CODEC:
        return codec.decode(blob, n)
    if fmt == FMT_RAW:
        return codec.decode_raw(blob, n)
    raise ValueError(f"unknown chunk format {fmt}")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return psycopg


class PostgresStore:
    """The runs of one PostgreSQL database (schema ``nbmonitor``). Thread-safe.

    Raises :class:`StoreError` (one line, the password hidden) when the server
    cannot be reached or the schema belongs to something else or a newer nbmonitor.
    """

    def __init__(self, url: str) -> None:
        self.url = url.strip()
        self.path = safe_url(self.url)  # what messages show (like SqliteStore.path)
        self._lock = threading.RLock()
        self._conn: Any = None
        self._series_ids: dict[tuple[str, str], int] = {}
        self._connect()
        self._migrate()
        self.mark_crashed()

    def __repr__(self) -> str:
        return f"PostgresStore({self.path!r})"

    def _connect(self) -> Any:
        psycopg = _psycopg()
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(dsn(self.url), connect_timeout=10,
                                             options=f"-c search_path={SCHEMA}")
            except psycopg.Error as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise StoreError(f"cannot open the run store {self.path}: {first}") from None
        return self._conn

    def _migrate(self) -> None:
        with self._lock:
            migrate(self._connect(), self.path)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def _tx(self, fn, *args) -> Any:
        """Run ``fn(conn, *args)`` in one transaction (reconnecting if needed)."""
        with self._lock:
            conn = self._connect()
            with conn.transaction():
                return fn(conn, *args)

    # -- crash detection ---------------------------------------------------
    def mark_crashed(self) -> list[str]:
        """Mark ``crashed`` the runs whose writing process is gone; their ids."""
        now = time.time()

        def work(c: Any) -> list[str]:
            gone = orphaned(c.execute(
                "SELECT id, pid, host, heartbeat FROM runs WHERE status = 'running'"), now)
            for rid in gone:
                c.execute("UPDATE runs SET status = 'crashed', ended = heartbeat, "
                          "error = coalesce(error, 'process ended without closing the run')"
                          " WHERE id = %s AND status = 'running'", (rid,))
            return gone
        return self._tx(work)

    # -- writing (the writer thread) ---------------------------------------
    def insert_run(self, row: dict[str, Any]) -> None:
        """Insert a run row (``running``, heartbeat now, this pid and host)."""
        row = {k: as_pg_text(v) for k, v in row.items()}
        row.update(pid=os.getpid(), host=HOST, heartbeat=time.time())
        for k in ("hparams", "environment"):
            row[k] = as_json(row.get(k) or {})
        cols = ", ".join(row)
        marks = ", ".join(f"%({k})s" for k in row)
        self._tx(lambda c: c.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", row))

    def _series_id(self, c: Any, run_id: str, name: str, new: dict) -> int:
        key = (run_id, as_pg_text(name))
        sid = self._series_ids.get(key) or new.get(key)
        if sid is None:
            c.execute("INSERT INTO series (run_id, name) VALUES (%s, %s) "
                      "ON CONFLICT DO NOTHING", key)
            sid = c.execute("SELECT id FROM series WHERE run_id = %s AND name = %s",
                            key).fetchone()[0]
            new[key] = sid
        return sid

    def write_batch(self, run_id: str, fields: dict[str, Any],
                    points: Iterable[tuple[str, int, np.ndarray]],
                    events: Iterable[tuple[int, Any]]) -> None:
        """In one transaction: points ``(series, start, (3, n) array)``, events
        ``(seq, Event)``, then ``fields`` of the run row and a heartbeat."""
        encoded = [(name, start, pts, [codec.encode(pts[i]) for i in range(3)])
                   for name, start, pts in points if pts.shape[1]]
        new: dict[tuple[str, str], int] = {}

        def work(c: Any) -> None:
            cur = c.cursor()
            for name, start, pts, blobs in encoded:
                sid = self._series_id(c, run_id, name, new)
                cur.execute("INSERT INTO chunks (series_id, start, n, steps, vals, times, fmt)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (series_id, "
                            "start) DO UPDATE SET n = EXCLUDED.n, steps = EXCLUDED.steps, "
                            "vals = EXCLUDED.vals, times = EXCLUDED.times, fmt = EXCLUDED.fmt",
                            (sid, start, pts.shape[1], *blobs, FMT_CODEC))
                v = pts[1][~np.isnan(pts[1])]
                lo, hi = (float(v.min()), float(v.max())) if len(v) else (None, None)
                cur.execute("UPDATE series SET count = %(n)s, last_step = %(ls)s, "
                            "last_value = %(lv)s, min = LEAST(min, %(lo)s), "
                            "max = GREATEST(max, %(hi)s) WHERE id = %(sid)s",
                            {"n": start + pts.shape[1], "ls": float(pts[0, -1]),
                             "lv": float(pts[1, -1]), "lo": lo, "hi": hi, "sid": sid})
            rows = [(run_id, seq, as_pg_text(e.kind), as_pg_text(e.message), e.step, e.time,
                     as_json(e.data)) for seq, e in events]
            if rows:
                cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s, %s) "
                                "ON CONFLICT (run_id, seq) DO UPDATE SET kind = EXCLUDED.kind,"
                                " message = EXCLUDED.message, step = EXCLUDED.step, "
                                "time = EXCLUDED.time, data = EXCLUDED.data", rows)
            f = {k: as_pg_text(v) for k, v in fields.items()}
            f["heartbeat"] = time.time()
            for k in ("hparams", "environment"):
                if k in f:
                    f[k] = as_json(f[k])
            sets = ", ".join(f"{k} = %({k})s" for k in f)
            cur.execute(f"UPDATE runs SET {sets} WHERE id = %(_id)s", {**f, "_id": run_id})
        self._tx(work)
        self._series_ids.update(new)  # only ids whose rows are committed

    # -- editing -----------------------------------------------------------
    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of a run row (``name``, ``tags``...)."""
        fields = {k: as_pg_text(v) for k, v in fields.items()}
        if "tags" in fields:
            fields["tags"] = as_json([as_pg_text(t) for t in fields["tags"]])
        sets = ", ".join(f"{k} = %({k})s" for k in fields)
        self._tx(lambda c: c.execute(f"UPDATE runs SET {sets} WHERE id = %(_id)s",
                                     {**fields, "_id": run_id}))

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it recorded."""
        self._tx(lambda c: c.execute("DELETE FROM runs WHERE id = %s", (run_id,)))

    # -- reading -----------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query written for SQLite (``?`` placeholders)."""
        sql = sql.replace("%", "%%").replace("?", "%s")
        with self._lock:
            conn = self._connect()
            with conn.transaction():
                cur = conn.execute(sql, args)
                names = [d.name for d in cur.description]
                return [dict(zip(names, r)) for r in cur.fetchall()]

    def run_rows(self, where: str = "1", args: tuple = ()) -> list[dict[str, Any]]:
        """Run rows, oldest first, JSON columns decoded."""
        where = "true" if where.strip() == "1" else where
        rows = self.query(f"SELECT * FROM runs WHERE {where} ORDER BY started, rowid", args)
        for r in rows:
            r.pop("rowid", None)
            for k in ("hparams", "environment", "tags"):
                r[k] = json.loads(r[k]) if r[k] else ({} if k != "tags" else [])
        return rows

    def points(self, run_id: str, name: str) -> np.ndarray:
        """Every stored point of a series, ``(3, n)``, in order."""
        rows = self.query("SELECT c.fmt, c.n, c.steps, c.vals, c.times FROM chunks c "
                          "JOIN series s ON c.series_id = s.id WHERE s.run_id = ? "
                          "AND s.name = ? ORDER BY c.start", (run_id, name))
        if not rows:
            return np.empty((3, 0))
        return np.vstack([np.concatenate([_decode(r["fmt"], bytes(r[k]), r["n"])
                                          for r in rows]) for k in ("steps", "vals", "times")])
