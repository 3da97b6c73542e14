"""Reading the store back: ``runs()``, ``load()``, and editing stored runs.

A run is named by its id, a unique prefix of its id, or its name (the latest
run of that name wins). Times are ``pandas.Timestamp`` in UTC.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..grouping import is_meter
from ..names import short
from ..run import lower_is_better
from ..say import say
from . import open_store
from .sqlite import SqliteStore


def _store(store: Any) -> SqliteStore:
    s = open_store(store if store is not None else True)
    if s is None:
        raise ValueError("the store is disabled; pass store=PATH")
    return s


def _ts(t: float | None) -> pd.Timestamp | None:
    return None if t is None else pd.Timestamp(t, unit="s", tz="UTC")


def resolve(store: SqliteStore, ref: str) -> str:
    """The id of the run ``ref`` names: an id, else a name (latest wins), else an id
    prefix. A name is tried before a prefix, so run ``b`` is never mistaken for a run
    whose random id happens to start with ``b``."""
    ref = str(ref)
    rows = store.query("SELECT id FROM runs WHERE id = ?", (ref,))
    if not rows:
        rows = store.query("SELECT id FROM runs WHERE name = ? "
                           "ORDER BY started DESC, rowid DESC LIMIT 1", (ref,))
    if not rows:
        rows = store.query("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\'",
                           (ref.replace("\\", "\\\\").replace("%", "\\%")
                            .replace("_", "\\_") + "%",))
        if len(rows) > 1:
            raise KeyError(f"run {ref!r} is ambiguous: {', '.join(r['id'] for r in rows)}")
    if not rows:
        raise KeyError(f"no run {ref!r} in {store.path}")
    return rows[0]["id"]


def series_stats(store: SqliteStore, run_ids: list[str] | None = None) -> dict[str, dict]:
    """Per run id, per series name: ``last``, ``best`` (min for losses, else max),
    ``count``."""
    out: dict[str, dict] = {}
    for r in store.query("SELECT * FROM series ORDER BY id"):
        if run_ids is not None and r["run_id"] not in run_ids:
            continue
        name = r["name"] if isinstance(r["name"], str) else str(r["name"])
        best = r["min"] if lower_is_better(name) else r["max"]
        out.setdefault(r["run_id"], {})[name] = {
            "last": _num(r["last_value"]), "best": _num(best),
            "count": r["count"] if isinstance(r["count"], int) else 0}
    return out


def _num(v: Any) -> float:
    """A stored statistic as a float (NaN when missing or malformed)."""
    return float(v) if isinstance(v, (int, float)) else math.nan


def runs(store: Any = None) -> pd.DataFrame:
    """A row per stored run, oldest first.

    Columns: ``id``, ``name``, ``status``, ``start``, ``end``, ``step``,
    ``notebook``, ``tags``; then ``hp.<name>`` per hyperparameter; then
    ``last.<series>`` and ``best.<series>`` per metric (meters left out).
    """
    st = _store(store)
    rows = st.run_rows()
    stats = series_stats(st)
    recs = []
    for r in rows:
        rec = {"id": r["id"], "name": r["name"], "status": r["status"],
               "start": _ts(r["started"]), "end": _ts(r["ended"]), "step": r["step"],
               "notebook": r["notebook"], "tags": list(r["tags"])}
        rec.update({f"hp.{k}": v for k, v in r["hparams"].items()})
        for name, s in stats.get(r["id"], {}).items():
            if not is_meter(name):
                rec[f"last.{name}"] = s["last"]
                rec[f"best.{name}"] = s["best"]
        recs.append(rec)
    base = ["id", "name", "status", "start", "end", "step", "notebook", "tags"]
    df = pd.DataFrame.from_records(recs, columns=None if recs else base)
    hp = sorted(c for c in df.columns if c.startswith("hp."))
    met = [c for c in df.columns if c.startswith(("last.", "best."))]
    return df[base + hp + met]


class StoredRun:
    """One run read back from the store. Attributes are read when loaded; the
    points are read on demand."""

    def __init__(self, store: SqliteStore, run_id: str) -> None:
        self.store = store
        rows = store.run_rows("id = ?", (run_id,))
        if not rows:
            raise KeyError(f"no run {run_id!r} in {store.path}")
        r = rows[0]
        self.id: str = r["id"]
        self.name: str = r["name"]
        self.status: str = r["status"]
        self.start = _ts(r["started"])
        self.end = _ts(r["ended"])
        self.step: int = r["step"]
        self.error: str | None = r["error"]
        self.notebook: str | None = r["notebook"]
        self.source: str = r["source"] or ""
        self.source_hash: str | None = r["source_hash"]
        self.hparams: dict[str, Any] = r["hparams"]
        self.environment: dict[str, Any] = r["environment"]
        self.tags: list[str] = r["tags"]

    def __repr__(self) -> str:
        return f"<StoredRun {short(self.name)!r} ({self.id}) {self.status}>"

    def series_names(self) -> list[str]:
        """Names of the recorded series, in first-written order."""
        return [r["name"] if isinstance(r["name"], str) else str(r["name"])
                for r in self.store.query(
                    "SELECT name FROM series WHERE run_id = ? ORDER BY id", (self.id,))]

    def summary(self) -> dict[str, dict[str, float]]:
        """Per series: ``last``, ``best`` and ``count``."""
        return series_stats(self.store, [self.id]).get(self.id, {})

    def series(self, name: str) -> pd.DataFrame:
        """Every point of a series: columns ``step``, ``value``, ``time`` (seconds)."""
        if name not in self.series_names():
            raise KeyError(f"run {self.name!r} has no series {name!r}")
        p = self.store.points(self.id, name)
        return pd.DataFrame({"step": p[0], "value": p[1], "time": p[2]})

    def points(self) -> pd.DataFrame:
        """Every point of every series, long format: ``series``, ``step``, ``value``,
        ``time``."""
        parts = [self.series(n).assign(series=n) for n in self.series_names()]
        cols = ["series", "step", "value", "time"]
        return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(
            columns=cols)

    def events(self) -> pd.DataFrame:
        """Events in order: ``kind``, ``message``, ``step``, ``time``, ``data`` (JSON)."""
        rows = self.store.query("SELECT kind, message, step, time, data FROM events "
                                "WHERE run_id = ? ORDER BY seq", (self.id,))
        return pd.DataFrame(rows, columns=["kind", "message", "step", "time", "data"])

    def rename(self, name: str) -> None:
        """Give the run a new name."""
        self.store.update_run(self.id, name=str(name))
        self.name = str(name)

    def tag(self, *tags: str) -> list[str]:
        """Add tags (kept once each, in order); returns all tags."""
        self.tags = list(dict.fromkeys([*self.tags, *map(str, tags)]))
        self.store.update_run(self.id, tags=self.tags)
        return self.tags

    def untag(self, *tags: str) -> list[str]:
        """Remove tags; returns the rest."""
        self.tags = [t for t in self.tags if t not in tags]
        self.store.update_run(self.id, tags=self.tags)
        return self.tags

    def delete(self) -> None:
        """Delete the run and its points and events from the store."""
        self.store.delete_run(self.id)

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`points` as CSV; returns the path."""
        self.points().to_csv(path, index=False)
        return Path(path)

    def to_parquet(self, path: str | Path) -> Path:
        """Write :meth:`points` as Parquet (needs ``pip install 'nbmonitor[parquet]'``)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("Parquet export needs pyarrow: "
                              "pip install 'nbmonitor[parquet]'") from None
        self.points().to_parquet(path, index=False)
        return Path(path)


def load(run: str, store: Any = None) -> StoredRun:
    """The stored run ``run`` names (id, id prefix, or name)."""
    st = _store(store)
    return StoredRun(st, resolve(st, run))


def rename(run: str, name: str, store: Any = None) -> None:
    """Rename a stored run."""
    load(run, store).rename(name)


def tag(run: str, *tags: str, store: Any = None) -> list[str]:
    """Add tags to a stored run; returns its tags."""
    return load(run, store).tag(*tags)


def delete(run: str, store: Any = None) -> None:
    """Delete a stored run."""
    load(run, store).delete()


def previous_run(store: SqliteStore, exclude: str, source_hash: str | None,
                 name: str | None) -> StoredRun | None:
    """The latest other run of the same cell (same source hash), else of the same
    name (pass a name only when the user chose it: default names repeat)."""
    for col, value in (("source_hash", source_hash), ("name", name)):
        if value:
            rows = store.query(f"SELECT id FROM runs WHERE {col} = ? AND id != ? "
                               "ORDER BY started DESC, rowid DESC LIMIT 1", (value, exclude))
            if rows:
                return StoredRun(store, rows[0]["id"])
    return None


def reference_curves(stored: StoredRun, max_points: int = 2000) -> dict[str, tuple]:
    """Per series of ``stored``: ``(steps, values)`` decimated to ``max_points``."""
    from ..buffer import decimate
    out = {}
    for name in stored.series_names():
        try:
            p = stored.store.points(stored.id, name)
        except (ValueError, MemoryError) as e:  # a damaged or crafted chunk
            say(f"nbmonitor: run {short(stored.name)!r}, series {short(name)!r} in "
                f"{stored.store.path} is unreadable ({e}); left out")
            continue
        s, v, _ = decimate(p[0], p[1], p[2], max_points)
        out[name] = (s, v)
    return out
