"""A real PostgreSQL server for the tests: Debian's ``postgresql`` binaries
(``make postgres`` installs them), ``initdb`` + ``pg_ctl`` in a temporary directory
as an unprivileged user, on 127.0.0.1 and a free port, stopped at the end.

``postgres_url`` (session) is the server's URL; ``pg_database`` gives each test a
fresh database of its own and returns its ``postgresql://`` URL.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

USER = "nbm"  # the database superuser initdb creates (trust auth, local only)


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``pg_ctl``."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found.sort(key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    return found[-1] if found else None


def _os_user() -> str | None:
    """An unprivileged system user to run the server as (initdb refuses root)."""
    if os.getuid() != 0:
        return None  # already unprivileged: run as ourselves
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("no unprivileged user (postgres, nobody) to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], user: str | None, **kw) -> subprocess.CompletedProcess:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start a throwaway PostgreSQL server; its ``postgresql://`` URL (database
    ``postgres``)."""
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL under /usr/lib/postgresql (make postgres)")
    user = _os_user()
    root = Path(tempfile.mkdtemp(prefix="nbm-pg-"))
    data = root / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    out = _run([str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                "-E", "UTF8", "--no-sync"], user, cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
    port = _free_port()
    opts = (f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off "
            "-c max_connections=60")
    out = _run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                str(root / "server.log"), "-w", "-t", "60", "start"], user, cwd=root)
    if out.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        pytest.fail(f"PostgreSQL did not start: {out.stdout}{out.stderr}{log}")
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
             user, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


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
