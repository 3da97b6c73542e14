"""Crafted stores read by ``load()``, ``runs()`` and the comparison: chunk headers
that declare huge sizes, a zlib bomb, deep JSON, huge names. Readers refuse what
does not add up before allocating, say so once per run, and show the rest."""
from __future__ import annotations

import json
import resource
import struct
import zlib

import numpy as np
import pytest

import nbmonitor
from nbmonitor.compare import bundle, draw, load_curves, pick_runs, table_text
from nbmonitor.store import codec
from nbmonitor.store.schema import FMT_CODEC
from nbmonitor.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path):
    with nbmonitor.monitor("good", store=tmp_path / "runs.db", meters=False,
                           print_capture=False, default_alerts=False):
        for i in range(50):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
    st = SqliteStore(tmp_path / "runs.db")
    yield st
    st.close()


def _crafted_run(st: SqliteStore, rid: str, name: str = "bad", hparams: str = "{}",
                 chunk: tuple | None = None, series: str = "loss") -> None:
    c = st._conn
    c.execute("INSERT INTO runs (id, name, status, started, hparams) VALUES (?, ?, "
              "'finished', 1, ?)", (rid, name, hparams))
    c.execute("INSERT INTO series (run_id, name, count) VALUES (?, ?, 1)", (rid, series))
    if chunk is not None:
        sid = c.execute("SELECT id FROM series WHERE run_id = ?", (rid,)).fetchone()[0]
        c.execute("INSERT INTO chunks (series_id, start, n, steps, vals, times, fmt) "
                  "VALUES (?, 0, ?, ?, ?, ?, ?)", (sid, *chunk))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bomb() -> bytes:
    """About 1 MB of deflate that inflates to 256 MiB of zeros, 8 times what the
    chunk declares (built in 1 MiB steps, never whole in memory)."""
    z = zlib.compressobj(1)
    block = b"\0" * (1 << 20)
    return b"".join([*(z.compress(block) for _ in range(256)), z.flush()])


def _line(kind=codec.INT) -> bytes:
    return struct.pack("<Bqq", kind << 4 | codec.LINE, 0, 1)


@pytest.mark.parametrize("case", ["huge_n_line", "huge_n_plain", "zlib_bomb", "short_blob",
                                  "text_blob", "bad_tag", "raw_huge"])
def test_crafted_chunks_are_refused_before_allocating(store, case, capsys):
    n, blob, fmt = (lambda: {
        "huge_n_line": (1 << 31, _line(), FMT_CODEC),
        "huge_n_plain": (1 << 30, bytes((codec.INT << 4 | codec.PLAIN, 8)) + b"\0" * 64,
                         FMT_CODEC),
        # deflate that inflates far beyond the 4 Mi points of 8 bytes it declares
        "zlib_bomb": (codec.MAX_CHUNK, bytes((codec.INT << 4 | codec.PLAIN | codec.ZLIB, 8))
                      + (_bomb() if case == "zlib_bomb" else b""), FMT_CODEC),
        "short_blob": (1000, bytes((codec.INT << 4 | codec.PLAIN, 8)) + b"\0" * 80, FMT_CODEC),
        "text_blob": (3, "not a blob", FMT_CODEC),
        "bad_tag": (3, b"\xff" * 20, FMT_CODEC),
        "raw_huge": (1 << 28, b"\0" * 24, 0),
    })()[case]
    ok = _line()
    cols = [blob, ok, ok]
    _crafted_run(store, "crafted", chunk=(n, *cols, fmt))
    before = _peak_mb()
    run = nbmonitor.load("crafted", store=store)
    with pytest.raises(ValueError, match="chunk|blob|deflated|bytes|points|width|format"):
        run.series("loss")
    curves = load_curves(pick_runs(store, ["good", "crafted"]))
    assert "loss" not in curves[run.id] and len(curves[pick_runs(store, ["good"])[0].id]["loss"][0]) == 50
    assert _peak_mb() - before < 200  # nothing near the declared sizes was allocated
    err = capsys.readouterr().err
    assert err.count("is unreadable") == 1 and "Traceback" not in err


def test_deep_and_malformed_json_columns(store, capsys):
    _crafted_run(store, "deep", name="deep", hparams="[" * 100_000 + "]" * 100_000)
    _crafted_run(store, "notjson", name="notjson", hparams="{oops")
    _crafted_run(store, "list", name="list", hparams="[1, 2]")
    df = nbmonitor.runs(store=store)
    assert sorted(df.name) == ["deep", "good", "list", "notjson"]
    assert nbmonitor.load("deep", store=store).hparams == {}
    err = capsys.readouterr().err
    assert err.count("malformed columns read as empty") == 3
    assert "JSON nested too deeply" in err and "RecursionError" not in err
    runs = pick_runs(store, ["good", "deep"])
    assert "hp." not in table_text(runs)


def test_huge_names_are_cut_for_display_and_kept_whole(tmp_path):
    long_metric = "m" * 50_000
    long_run = "r" * 200_000
    with nbmonitor.monitor(long_run, store=tmp_path / "runs.db", meters=False,
                           print_capture=False, default_alerts=False) as run:
        for i in range(20):
            nbmonitor.log(**{long_metric: float(i), "loss": 1.0 / (i + 1)})
    back = nbmonitor.load(run.id, store=tmp_path / "runs.db")
    assert back.name == long_run and long_metric in back.series_names()  # full in the data
    runs = pick_runs(back.store, [run.id])
    fig = draw(runs, load_curves(runs))
    texts = [fig._suptitle.get_text()] + [t.get_text() for ax in fig.axes
                                          for t in ax.get_legend().get_texts()]
    assert texts and max(len(t) for t in texts) < 200
    assert max(len(line) for line in table_text(runs).splitlines()) < 400
    data = bundle(runs, load_curves(runs))
    assert len(data["text/html"]) < 200_000 + len(data["image/png"]) * 2 and "\u2026" in data["text/plain"]
    from nbmonitor.snapshot import bundle as freeze
    frozen = freeze(run, 0.0)
    assert "image/png" in frozen


def test_codec_round_trip_is_unchanged_by_the_checks():
    rng = np.random.default_rng(0)
    for x in (np.arange(10_000, dtype=float), rng.standard_normal(9000),
              np.round(rng.random(20_000), 2), np.array([np.inf, -0.0, np.nan, 1e308])):
        blob = codec.encode(x)
        assert codec.decode(blob, len(x)).view(np.int64).tolist() == x.view(np.int64).tolist()
    json.dumps({})
