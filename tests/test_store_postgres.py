"""The PostgreSQL run store on a real server: the same rows, points and readers as
the SQLite store, schema ``nbmonitor`` beside an Optuna study, refused when the
schema is someone else's, one clear line when the server is not there."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nbmonitor
from nbmonitor.store import StoreError, open_store
from nbmonitor.store.postgres import PostgresStore, safe_url

from .pg import pg_database, postgres_url  # noqa: F401  (fixtures)


def test_a_monitored_run_round_trips(pg_database):
    values = [0.5, -0.0, math.inf, 1e-300, 3.25]
    with nbmonitor.monitor(name="pg-run", store=pg_database, meters=False,
                           frontend="text") as run:
        for i, v in enumerate(values * 300):
            nbmonitor.log(loss=v, step=i)
        nbmonitor.log(acc=0.75, step=1)
    runs = nbmonitor.runs(store=pg_database)
    assert list(runs["name"]) == ["pg-run"] and list(runs["status"]) == ["finished"]
    stored = nbmonitor.load("pg-run", store=pg_database)
    assert stored.id == run.id and sorted(stored.series_names()) == ["acc", "loss"]
    loss = stored.series("loss")
    got = loss["value"].to_numpy()
    want = np.array(values * 300)
    assert len(got) == 1500 and (got.view(np.int64) == want.view(np.int64)).all()
    assert list(loss["step"][:3]) == [0, 1, 2]
    assert stored.summary()["acc"]["last"] == 0.75
    assert nbmonitor.load(run.id[:6], store=pg_database).id == run.id
    stored.rename("renamed")
    stored.tag("pg")
    again = nbmonitor.load("renamed", store=pg_database)
    assert again.tags == ["pg"]
    again.delete()
    assert len(nbmonitor.runs(store=pg_database)) == 0


def test_schema_nbmonitor_beside_other_tables(pg_database):
    import psycopg
    with psycopg.connect(pg_database, autocommit=True) as c:
        c.execute("CREATE TABLE runs (x int)")  # someone's public.runs is not ours
    store = open_store(pg_database)
    assert isinstance(store, PostgresStore) and store.run_rows() == []
    with psycopg.connect(pg_database) as c:
        tables = {r[0] for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "'nbmonitor'")}
    assert {"runs", "series", "chunks", "events", "meta"} <= tables


def test_a_foreign_schema_is_refused_untouched(pg_database):
    import psycopg
    with psycopg.connect(pg_database, autocommit=True) as c:
        c.execute("CREATE SCHEMA nbmonitor")
        c.execute("CREATE TABLE nbmonitor.runs (x int)")
        c.execute("INSERT INTO nbmonitor.runs VALUES (7)")
    with pytest.raises(StoreError, match="belongs to another program"):
        PostgresStore(pg_database)
    with psycopg.connect(pg_database) as c:
        assert c.execute("SELECT x FROM nbmonitor.runs").fetchall() == [(7,)]
        assert c.execute("SELECT count(*) FROM information_schema.tables WHERE "
                         "table_schema = 'nbmonitor'").fetchone() == (1,)


def test_refused_connection_is_one_line_with_the_password_hidden(postgres_url):
    bad = "postgresql://nbm:secret@127.0.0.1:1/nowhere"
    with pytest.raises(StoreError) as e:
        PostgresStore(bad)
    msg = str(e.value)
    assert "secret" not in msg and "127.0.0.1:1" in msg and "\n" not in msg
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert safe_url(bad) == "postgresql://nbm:***@127.0.0.1:1/nowhere"


def test_compare_events_and_a_crashed_writer(pg_database):
    import os
    import subprocess
    import sys
    from nbmonitor.compare import load_curves, pick_runs
    for name in ("a", "b"):
        with nbmonitor.monitor(name=name, store=pg_database, meters=False, frontend="text"):
            for i in range(50):
                nbmonitor.log(loss=1.0 / (i + 1), step=i)
    store = open_store(pg_database)
    runs = pick_runs(store, last=5)
    assert [r.name for r in runs] == ["a", "b"]
    curves = load_curves(runs)
    assert all(len(c["loss"][1]) == 50 for c in curves.values())
    assert "kind" in nbmonitor.load("a", store=pg_database).events().columns
    # a process killed while writing: its run is crashed once another opens the store
    code = (f"import os, time, nbmonitor\n"
            f"with nbmonitor.monitor(name='killed', store={pg_database!r}, meters=False,"
            f" frontend='text'):\n"
            f"    nbmonitor.log(loss=1.0, step=0); time.sleep(1.5); os._exit(9)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env,
                          timeout=120).returncode == 9
    store.mark_crashed()
    df = nbmonitor.runs(store=pg_database)
    killed = df[df["name"] == "killed"]
    assert list(killed["status"]) == ["crashed"]
    assert nbmonitor.load("killed", store=pg_database).series("loss")["value"].tolist() == [1.0]


def test_what_a_trial_records_as_its_store(tmp_path):
    from nbmonitor.tuning.stored import store_ref
    assert store_ref("postgresql+psycopg://u:pw@h:5/db") == "postgresql://u:***@h:5/db"
    assert store_ref("postgresql://u@h/db") == "postgresql://u@h/db"
    assert store_ref(str(tmp_path)) == str(tmp_path / "runs.db")
    assert store_ref(False) is None and store_ref("off") is None


def test_text_and_json_postgres_cannot_hold_do_not_poison_writes(pg_database):
    """NUL characters (PostgreSQL text refuses them), lone surrogates and JSON too
    deep or circular are stored escaped, as the SQLite store does; every point lands."""
    circular: dict = {}
    circular["self"] = circular
    with nbmonitor.monitor(name="odd\x00name", store=pg_database, meters=False,
                           frontend="text", hparams={"note": "a\x00b"}) as run:
        nbmonitor.config(loop=circular, lr=0.1)
        run.event("note", "nul \x00 and a lone \ud800 surrogate", where="x\x00")
        for i in range(100):
            nbmonitor.log(loss=1.0 / (i + 1))
    back = nbmonitor.load(run.id, store=pg_database)
    assert back.status == "finished" and len(back.series("loss")) == 100
    assert back.name == "odd\\x00name"
    assert list(back.hparams) == ["unencodable"]
    events = back.events()
    note = events[events["kind"] == "note"]["message"].tolist()
    assert note == ["nul \\x00 and a lone \\ud800 surrogate"]
    back.rename("re\x00named")
    back.tag("t\x00")
    again = nbmonitor.load(run.id, store=pg_database)
    assert again.name == "re\\x00named" and again.tags == ["t\\x00"]
