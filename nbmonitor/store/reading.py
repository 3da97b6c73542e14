"""Reading stored rows defensively: a store may be damaged or crafted.

Every reader goes through here. A run row whose JSON columns are malformed (not
JSON, the wrong type, nested deeper than the JSON parser goes) is read as far as it
goes, with one message per run on stderr; points are read chunk by chunk, each
checked against its blob sizes by :mod:`.codec` before anything is allocated, with
at most ``MAX_POINTS`` points per series.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..say import say
from . import codec

MAX_POINTS = 1 << 26  # points read back per series (1.5 GiB of float64 triples)
_warned: set[tuple[str, str]] = set()


def _say_once(path: Path, run_id: str, what: str) -> None:
    key = (str(path), run_id)
    if key not in _warned:
        _warned.add(key)
        say(f"nbmonitor: run {str(run_id)[:40]!r} in {path}: {what}")


def _json(text: Any, kind: type) -> Any:
    """``text`` parsed as JSON of type ``kind``; raises ValueError otherwise."""
    if text is None or text == "":
        return kind()
    if not isinstance(text, (str, bytes)):
        raise ValueError(f"{type(text).__name__} where JSON text was expected")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(value, kind):
        raise ValueError(f"JSON {type(value).__name__} where a {kind.__name__} was expected")
    return value


def clean_run_row(row: dict[str, Any], path: Path) -> dict[str, Any]:
    """A run row with ``hparams``/``environment`` as dicts, ``tags`` as a list of
    strings and ``name``/``status`` as strings, whatever the file held."""
    problems = []
    for key, kind in (("hparams", dict), ("environment", dict), ("tags", list)):
        try:
            row[key] = _json(row.get(key), kind)
        except ValueError as e:
            problems.append(f"{key}: {e}")
            row[key] = kind()
    row["tags"] = [str(t) for t in row["tags"]]
    for key in ("id", "name", "status"):
        if not isinstance(row.get(key), str):
            problems.append(f"{key} is {type(row.get(key)).__name__}")
            row[key] = str(row.get(key))
    for key in ("started", "ended", "heartbeat"):
        v = row.get(key)
        if v is not None and not isinstance(v, (int, float)):
            problems.append(f"{key} is {type(v).__name__}")
            row[key] = None if key != "started" else 0.0
    if not isinstance(row.get("step"), int):
        row["step"] = 0
    if problems:
        _say_once(path, row["id"], "malformed columns read as empty (" + "; ".join(problems)
                  + ")")
    return row


def read_points(rows: Iterable[tuple], decode: Callable[[int, bytes, int], np.ndarray]
                ) -> np.ndarray:
    """``(3, n)`` points of chunk rows ``(fmt, n, steps, vals, times)``, in order."""
    parts = []
    total = 0
    for fmt, n, *blobs in rows:
        if not isinstance(n, int) or not 1 <= n <= codec.MAX_CHUNK:
            raise codec.CorruptChunk(f"a chunk declares {n!r} points")
        total += n
        if total > MAX_POINTS:
            raise codec.CorruptChunk(f"more than {MAX_POINTS} points in one series")
        parts.append(np.vstack([decode(fmt, b, n) for b in blobs]))
    if not parts:
        return np.empty((3, 0))
    return np.concatenate(parts, axis=1)
