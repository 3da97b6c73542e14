"""What SQLite and PostgreSQL can hold: text, JSON and integers made storable without failing.

A write must never fail on a value: text with lone surrogates is stored with
``backslashreplace`` escapes (NUL as ``\\x00`` for PostgreSQL), JSON that cannot be encoded (too deep, circular) as
``{"unencodable": ...}``, and integers clipped to int64.
"""
from __future__ import annotations

import json
from typing import Any

INT64_MAX = (1 << 63) - 1


def as_text(value: Any) -> Any:
    """``value`` unchanged when SQLite can store it; a string with lone surrogates
    (not UTF-8 encodable) with them escaped as ``\\udxxx``."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def as_pg_text(value: Any) -> Any:
    """:func:`as_text`, and NUL characters, which PostgreSQL text cannot hold,
    written as ``\\x00``."""
    value = as_text(value)
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\x00")
    return value


def as_json(value: Any) -> str:
    """JSON text of ``value``; what JSON cannot hold (too deep, circular) becomes
    ``{"unencodable": "<repr, 200 characters at most>"}``."""
    try:
        return json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError) as e:
        try:
            text = repr(value)[:200]
        except Exception:  # a repr as deep as the value
            text = f"<{type(value).__name__}>"
        return json.dumps({"unencodable": f"{type(e).__name__}: {text}"})


def clamp_int(value: Any) -> int:
    """An integer SQLite can store: ``value`` clipped to int64, 0 when not finite."""
    try:
        return max(-INT64_MAX - 1, min(INT64_MAX, int(value)))
    except (OverflowError, ValueError, TypeError):
        return INT64_MAX if value == float("inf") else (-INT64_MAX - 1 if value == float("-inf") else 0)
