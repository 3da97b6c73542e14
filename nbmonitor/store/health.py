"""Whether a store file can be written, and whether SQLite finds it sound."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def writable(path: Path) -> bool:
    """Whether a store at ``path`` can be written: the file (when it exists) and its
    directory (WAL needs its ``-wal`` and ``-shm`` files beside it)."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK)


def quick_check(conn: sqlite3.Connection) -> str | None:
    """None when ``PRAGMA quick_check`` finds the file sound, else its first
    complaint (or the error that stopped it)."""
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as e:
        return str(e)
    if rows and rows[0][0] == "ok":
        return None
    text = "; ".join(str(r[0]) for r in rows).replace("*** in database main ***", "")
    return " ".join(text.split())[:300] or "no answer"  # one line
