"""Start and stop a throwaway PostgreSQL server from Debian's ``postgresql`` binaries
(``make postgres``): ``initdb`` + ``pg_ctl`` in a temporary directory as an
unprivileged user, trust authentication, on 127.0.0.1 and a free port.
Used by the tests' fixtures (:mod:`tests.pg`) and by ``benchmarks/bench_postgres.py``.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "nbm"  # the database superuser initdb creates (trust auth, local only)


class NoServer(RuntimeError):
    """PostgreSQL is not installed, or there is no user to run it as."""


def pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``pg_ctl``."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found.sort(key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    return found[-1] if found else None


def os_user() -> str | None:
    """An unprivileged system user to run the server as (initdb refuses root);
    None when this process is not root (it runs the server itself)."""
    if os.getuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise NoServer("no unprivileged user (postgres, nobody) to run PostgreSQL as")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], user: str | None, cwd: Path) -> subprocess.CompletedProcess:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)


@dataclass
class Server:
    """A running server: its URL (database ``postgres``) and where it lives."""

    url: str
    root: Path
    bindir: Path
    user: str | None

    def stop(self) -> None:
        """Stop the server and delete its files."""
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
              "immediate", "-w", "stop"], self.user, self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def database(self, name: str) -> str:
        """Create database ``name``; its URL."""
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"


def start(fast: bool = True) -> Server:
    """Initialize and start a server (``fast``: no fsync, as for throwaway data).
    :class:`NoServer` when it cannot be run here; RuntimeError if it fails to start."""
    bindir = pg_bin()
    if bindir is None:
        raise NoServer("no PostgreSQL under /usr/lib/postgresql (make postgres)")
    user = os_user()
    root = Path(tempfile.mkdtemp(prefix="nbm-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    out = _run([str(bindir / "initdb"), "-D", str(root / "data"), "-U", USER,
                "--auth=trust", "-E", "UTF8", "--no-sync"], user, root)
    if out.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {out.stdout}{out.stderr}")
    port = free_port()
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=200"
    if fast:
        opts += " -c fsync=off -c full_page_writes=off"
    log = root / "server.log"
    out = _run([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", opts, "-l",
                str(log), "-w", "-t", "60", "start"], user, root)
    if out.returncode != 0:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {out.stdout}{out.stderr}{text}")
    return Server(f"postgresql://{USER}@127.0.0.1:{port}/postgres", root, bindir, user)
