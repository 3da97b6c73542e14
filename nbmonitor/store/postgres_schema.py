"""The PostgreSQL store's URLs and schema: what a ``postgresql://`` URL names, how
it is shown (password hidden), and the tables of the schema ``nbmonitor`` (those of
the SQLite store, :mod:`.schema`, in PostgreSQL types; a ``rowid`` column keeps the
order of insertion that SQLite readers sort by). The version lives in ``meta``.
"""
from __future__ import annotations

from typing import Any

from .schema import StoreError

SCHEMA = "nbmonitor"
VERSION = 1
PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
    id TEXT PRIMARY KEY, rowid BIGSERIAL, name TEXT NOT NULL, status TEXT NOT NULL,
    notebook TEXT, source TEXT, source_hash TEXT,
    started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION,
    heartbeat DOUBLE PRECISION, pid BIGINT, host TEXT, step BIGINT DEFAULT 0, error TEXT,
    hparams TEXT DEFAULT '{{}}', environment TEXT DEFAULT '{{}}', tags TEXT DEFAULT '[]');
CREATE INDEX IF NOT EXISTS runs_started ON {SCHEMA}.runs (started);
CREATE INDEX IF NOT EXISTS runs_status ON {SCHEMA}.runs (status);
CREATE TABLE IF NOT EXISTS {SCHEMA}.series (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES {SCHEMA}.runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL, count BIGINT DEFAULT 0, last_step DOUBLE PRECISION,
    last_value DOUBLE PRECISION, min DOUBLE PRECISION, max DOUBLE PRECISION,
    UNIQUE (run_id, name));
CREATE TABLE IF NOT EXISTS {SCHEMA}.chunks (
    series_id BIGINT NOT NULL REFERENCES {SCHEMA}.series (id) ON DELETE CASCADE,
    start BIGINT NOT NULL, n INTEGER NOT NULL,
    steps BYTEA NOT NULL, vals BYTEA NOT NULL, times BYTEA NOT NULL,
    fmt SMALLINT NOT NULL, PRIMARY KEY (series_id, start));
CREATE TABLE IF NOT EXISTS {SCHEMA}.events (
    run_id TEXT NOT NULL REFERENCES {SCHEMA}.runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, kind TEXT, message TEXT, step DOUBLE PRECISION,
    time DOUBLE PRECISION, data TEXT, PRIMARY KEY (run_id, seq))
"""


def is_url(spec: Any) -> bool:
    """Whether ``spec`` names a PostgreSQL store."""
    return isinstance(spec, str) and spec.strip().lower().startswith(PREFIXES)


def dsn(url: str) -> str:
    """``url`` as libpq takes it (no SQLAlchemy ``+driver``)."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and "+" in scheme else url


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for messages and shared records."""
    scheme, sep, rest = url.partition("://")
    auth, at, host = rest.rpartition("@")
    if not at or ":" not in auth:
        return url
    return f"{scheme}{sep}{auth.split(':', 1)[0]}:***@{host}"


def migrate(conn: Any, where: str) -> None:
    """Create the schema in one transaction, or check the one there: StoreError for
    another program's schema ``nbmonitor`` or a newer nbmonitor's (left untouched)."""
    import psycopg
    try:
        with conn.transaction():
            c = conn
            # one process creates the schema; the others wait here, then see it
            c.execute("SELECT pg_advisory_xact_lock(hashtext('nbmonitor-schema'))")
            tables = {r[0] for r in c.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s", (SCHEMA,))}
            if tables and "meta" not in tables:
                raise StoreError(f"schema {SCHEMA!r} of {where} belongs to another "
                                 f"program (tables: {', '.join(sorted(tables)[:5])}); "
                                 "nbmonitor never writes to it")
            if "meta" in tables:
                row = c.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
                if row is None:
                    raise StoreError(f"schema {SCHEMA!r} of {where} is not an "
                                     "nbmonitor store; nbmonitor never writes to it")
                if int(row[0]) > VERSION:
                    raise StoreError(f"{where} was written by a newer nbmonitor "
                                     f"(schema {row[0]}): upgrade nbmonitor")
                return
            for stmt in filter(str.strip, _DDL.split(";")):
                c.execute(stmt)
            c.execute(f"INSERT INTO {SCHEMA}.meta VALUES ('app', 'nbmonitor'), "
                      "('version', %s)", (str(VERSION),))
    except psycopg.Error as e:
        raise StoreError(f"cannot use the run store {where}: "
                         f"{str(e).strip().splitlines()[0]}") from None
