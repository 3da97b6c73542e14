"""Property: whatever ``nbmonitor.log`` accepts, the store gives back bit for bit,
and points logged after anything it refused still land. Values and names are
drawn at random: any float (NaN, inf, -0.0, subnormals), integers up to 10**400,
numpy scalars, any text (lone surrogates included) as names, steps of any size."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import nbmonitor
from nbmonitor.store.sqlite import SqliteStore

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1,
                     max_size=2)
names = st.one_of(st.text(max_size=30), st.builds(str.__add__, st.text(max_size=5), surrogates),
                  st.text(max_size=3).map(lambda s: s * 3000)).filter(lambda s: s != "step")
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(min_value=-10 ** 400, max_value=10 ** 400),
                   st.floats(width=32).map(np.float32), st.booleans(),
                   st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1).map(np.int64))
steps = st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-10 ** 30, 10 ** 30))
calls = st.lists(st.tuples(names, values, steps), min_size=1, max_size=12)


def _bits(x: float) -> int:
    return int(np.array([x], dtype=np.float64).view(np.int64)[0])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(calls)
@example([("x", 10 ** 400, None), ("bad\ud800", 1.0, None), ("y", 1.0, 2 ** 63),
          ("z", 2.0, float("inf")), ("x", 1.5, 10 ** 30)])
def test_store_round_trips_whatever_log_accepts(ops):
    where = Path(tempfile.mkdtemp(prefix="reliab-prop-"))
    path = where / "runs.db"
    expected: dict[str, list[tuple[float | None, float]]] = {}
    with nbmonitor.monitor("prop", store=path, meters=False, print_capture=False,
                           default_alerts=False) as run:
        for name, value, step in ops:
            try:
                nbmonitor.log(step=step, **{name: value})
            except (ValueError, TypeError) as e:
                assert "\n" not in str(e) and str(e).startswith("nbmonitor.log")
                continue
            expected.setdefault(name, []).append(
                (None if step is None else float(step), float(value)))
        for i in range(5):
            nbmonitor.log(after=float(i))
    assert run.status == "finished"
    expected.setdefault("after", []).extend((None, float(i)) for i in range(5))
    store = SqliteStore(path)
    try:
        (row,) = store.query("SELECT status FROM runs WHERE id = ?", (run.id,))
        assert row["status"] == "finished"
        stored = {r["name"] for r in store.query(
            "SELECT name FROM series WHERE run_id = ?", (run.id,))}
        assert stored == set(expected)
        for name, points in expected.items():
            p = store.points(run.id, name)
            assert [_bits(v) for v in p[1]] == [_bits(v) for _, v in points], name
            for got, (want, _) in zip(p[0], points):
                if want is not None and not math.isnan(want):
                    assert _bits(got) == _bits(want), (name, got, want)
    finally:
        store.close()
