"""Fixtures of a real PostgreSQL server (see :mod:`tests.pg_server`).

``postgres_url`` (session) is the server's URL, the server stopped at the end;
``pg_database`` gives each test a fresh database of its own and returns its URL.
Import both into a test module: ``from .pg import pg_database, postgres_url``.
"""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from .pg_server import NoServer, start


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server's ``postgresql://`` URL (database ``postgres``)."""
    try:
        server = start()
    except NoServer as e:
        pytest.skip(str(e))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; its URL. Dropped afterwards."""
    import psycopg
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
