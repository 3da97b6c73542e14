"""Helpers of the fault-injection tests: a connection that fails on demand, and a
small tmpfs to fill for real (root only; tests skip without it)."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import pytest


class FaultyConnection:
    """Wraps a ``sqlite3.Connection``: while ``failing`` (and the statement matches
    ``only``, when given), writes raise ``sqlite3.OperationalError("database or disk
    is full")`` as SQLite does on ENOSPC; the transaction is then rolled back by
    the store as after a real failure."""

    def __init__(self, conn: sqlite3.Connection, only: str | None = None) -> None:
        self._conn = conn
        self.only = only
        self.failing = False
        self.failures = 0
        self.lock = threading.Lock()

    def _check(self, sql: str) -> None:
        if self.failing and sql.lstrip().upper().startswith(("INSERT", "UPDATE")) and (
                self.only is None or self.only in sql):
            self.failures += 1
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql: str, *args):
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args):
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def inject(store, only: str | None = None) -> FaultyConnection:
    """Put a :class:`FaultyConnection` in ``store``; returns it."""
    faulty = FaultyConnection(store._conn, only)
    store._conn = faulty
    return faulty


@contextlib.contextmanager
def tmpfs(size: str = "2m") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (skips the test where mounting is not allowed)."""
    where = Path(tempfile.mkdtemp(prefix="reliab-tmpfs-"))
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True).returncode:
        os.rmdir(where)
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        os.rmdir(where)


def remount(where: Path, mode: str) -> None:
    """Remount the tmpfs ``where`` ``ro`` or ``rw``."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def fill(where: Path) -> Path:
    """Fill the file system of ``where``; returns the filler (delete it to free)."""
    filler = where / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler
