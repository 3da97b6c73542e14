"""History API, Session/magic integration, compare rendering."""
from __future__ import annotations

import pytest

import nbmonitor
from nbmonitor.session import Session


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("NBMONITOR_STORE", str(tmp_path / "runs.db"))
    monkeypatch.setenv("NBMONITOR_FRONTEND", "text")
    return tmp_path / "runs.db"


def train(name, lr, n=50, **kw):
    with Session(name, hparams={"lr": lr}, source=f"train({lr})", print_capture=False,
                 meters=False, **kw):
        nbmonitor.config(batch=32)
        for i in range(n):
            nbmonitor.log(step=i, **{"train/loss": lr / (i + 1), "val_loss": 2 * lr / (i + 1)})


def test_runs_table_and_load(db):
    train("a", 0.1)
    train("b", 0.2)
    with pytest.raises(ZeroDivisionError):
        with Session("c", print_capture=False):
            nbmonitor.log(loss=1.0)
            1 / 0
    df = nbmonitor.runs()
    assert list(df.name) == ["a", "b", "c"]
    assert list(df.status) == ["finished", "finished", "failed"]
    assert {"id", "start", "end", "hp.lr", "hp.batch", "last.train/loss",
            "best.val_loss"} <= set(df.columns)
    assert df.loc[1, "last.train/loss"] == pytest.approx(0.2 / 50)
    assert df.loc[1, "best.train/loss"] == pytest.approx(0.2 / 50)
    r = nbmonitor.load("b")
    assert r.status == "finished" and r.hparams == {"lr": 0.2, "batch": 32}
    assert r.series_names() == ["train/loss", "val_loss"]
    s = r.series("val_loss")
    assert list(s.columns) == ["step", "value", "time"] and len(s) == 50
    assert nbmonitor.load(r.id[:6]).id == r.id
    assert "python" in r.environment
    with pytest.raises(KeyError):
        nbmonitor.load("nope")


def test_rename_tag_delete_export(db, tmp_path, monkeypatch):
    train("a", 0.1)
    nbmonitor.rename("a", "baseline")
    assert nbmonitor.tag("baseline", "good", "v1") == ["good", "v1"]
    r = nbmonitor.load("baseline")
    assert r.tags == ["good", "v1"]
    csv = r.to_csv(tmp_path / "a.csv")
    assert csv.read_text().startswith("series,step,value,time")
    pq = pytest.importorskip("pandas").read_parquet(r.to_parquet(tmp_path / "a.parquet"))
    assert len(pq) == 100
    import builtins
    real = builtins.__import__
    with monkeypatch.context() as m:
        m.setattr(builtins, "__import__", lambda n, *a, **k: (
            (_ for _ in ()).throw(ImportError(n)) if n == "pyarrow" else real(n, *a, **k)))
        with pytest.raises(ImportError, match=r"nbmonitor\[parquet\]"):
            r.to_parquet(tmp_path / "b.parquet")
    nbmonitor.delete("baseline")
    assert len(nbmonitor.runs(db)) == 0


def test_store_false_and_foreign_file(db, tmp_path):
    with Session("x", store=False, print_capture=False):
        nbmonitor.log(loss=1.0)
    assert not db.exists()
    bad = tmp_path / "bad.db"
    bad.write_text("my thesis")
    with pytest.raises(nbmonitor.StoreError):
        with Session("y", store=bad, print_capture=False):
            pass
    assert bad.read_text() == "my thesis" and nbmonitor.current_run() is None


def test_compare_last_picks_previous_run_of_same_cell(db):
    train("a", 0.1)
    train("other", 0.5)  # another cell
    s = Session("a2", hparams={}, source="train(0.1)", compare_last=True, print_capture=False)
    with s:
        pass
    assert set(s.reference) == {"train/loss", "val_loss"}
    assert s.reference["train/loss"][1][0] == pytest.approx(0.1)


def test_compare_table_escapes_and_marks_differences(db):
    from nbmonitor.compare import bundle, load_curves, pick_runs, table_html
    from nbmonitor.store import open_store
    train("<b>evil</b>", 0.1)
    train("plain", 0.2)
    runs = pick_runs(open_store(None))
    html = table_html(runs)
    assert "<b>evil" not in html and "&lt;b&gt;evil" in html
    assert html.count("background:#fff3b0") >= 3  # lr and the metrics differ
    out = bundle(runs, load_curves(runs))
    assert out["image/png"] and "*hp.lr" in out["text/plain"]


def test_compare_widget_picker(db):
    from nbmonitor.compare import load_curves, pick_runs
    from nbmonitor.store import open_store
    from nbmonitor.widgets.compare import CompareWidget
    train("a", 0.1)
    train("b", 0.2)
    runs = pick_runs(open_store(None))
    frozen = []
    w = CompareWidget(runs, load_curves(runs), on_freeze=frozen.append)
    assert len(w.grid.children) == 1  # loss and val_loss share a chart
    assert len(w.grid.children[0].marks) == 4
    w.picker.value = (runs[0].id,)
    assert len(w.grid.children[0].marks) == 2 and "b (" not in w.table.value
    w.freeze.click()
    assert [r.id for r in frozen[0]] == [runs[0].id]
    w.close()


def test_magic_refuses_foreign_store_before_running(db, tmp_path):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    ip = InteractiveShell.instance()
    nbmonitor.load_ipython_extension(ip)
    bad = tmp_path / "bad.db"
    bad.write_text("not mine")
    ip.user_ns["ran"] = False
    with pytest.raises(UsageError, match="not an nbmonitor store"):
        ip.run_cell_magic("monitor", f"--store {bad}", "ran = True")
    assert ip.user_ns["ran"] is False and bad.read_text() == "not mine"
    ip.run_cell_magic("monitor", "--name m --hparams lr=0.5", "nbmonitor_ok = 1")
    assert nbmonitor.load("m").hparams == {"lr": 0.5}
    ip.run_line_magic("monitor_compare", "m --static")
    with pytest.raises(UsageError, match="no run"):
        ip.run_line_magic("monitor_compare", "zzz")


def test_a_name_wins_over_an_id_prefix(db):
    train("first", 0.1, n=3)
    prefix = nbmonitor.load("first").id[:1]
    train(prefix, 0.3, n=3)  # a run named like the start of the other's id
    assert nbmonitor.load(prefix).name == prefix
    assert nbmonitor.load(nbmonitor.load("first").id[:8]).name == "first"
