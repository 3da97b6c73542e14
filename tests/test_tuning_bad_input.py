"""What a tuner or a worker is given wrong gets one clear line and writes nothing: a
wrong URL, a server that refuses the connection, a study made for another
objective; a study naming a function is never imported from unless the user says
so; an objective must be a number a float holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbmonitor import Tuner
from nbmonitor.tuning import share

from .nbutil import execute, notebook, text
from .pg import pg_database, postgres_url  # noqa: F401  (fixtures)

ROOT = str(Path(__file__).resolve().parents[1])
TARGET = '''
import nbmonitor

def train(q: float = 1.0, epochs: int = 2):
    for epoch in range(epochs):
        nbmonitor.log(**{"val/loss": q / (epoch + 1)})
'''


def run_worker(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "bad_target.py").write_text(textwrap.dedent(TARGET))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT]),
           "NBMONITOR_FRONTEND": "text"}
    return subprocess.run([sys.executable, "-m", "nbmonitor.worker", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def one_line_error(out: subprocess.CompletedProcess) -> str:
    """The worker's message: exit status 2, no traceback, the last stderr line."""
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr
    return out.stderr.strip().splitlines()[-1]


def n_trials(url: str, name: str) -> int:
    import optuna
    return len(optuna.load_study(study_name=name, storage=url.replace(
        "postgresql://", "postgresql+psycopg://")).trials)


@pytest.fixture
def study(tmp_path, pg_database):
    """Study ``s`` on PostgreSQL, made by a Tuner for objective val/loss."""
    (tmp_path / "bad_target.py").write_text(textwrap.dedent(TARGET))
    sys.path.insert(0, str(tmp_path))
    try:
        import bad_target
        Tuner(bad_target.train, q=(0.5, 2.0), study_name="s", storage=pg_database)
        yield bad_target
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("bad_target", None)


def test_worker_bad_storage_and_store_are_one_line_each(tmp_path, study, pg_database):
    host = pg_database.rsplit("/", 1)[0]
    common = ["s", "--target", "bad_target:train", "--no-meters"]
    cases = {
        "refused": (["--storage", "postgresql://nbm:hunter2@127.0.0.1:1/x"],
                    "cannot open the study storage postgresql://nbm:***@127.0.0.1:1/x: "
                    "connection failed"),
        "no database": (["--storage", f"{host}/nosuchdb"], 'database "nosuchdb" does not '
                        "exist"),
        "wrong url": (["--storage", "postgresq://x@127.0.0.1/y"],
                      "cannot open the study storage postgresq://x@127.0.0.1/y"),
        "store refused": (["--storage", pg_database, "--store",
                           "postgresql://nbm:hunter2@127.0.0.1:1/x"],
                          "cannot open the run store postgresql://nbm:***@127.0.0.1:1/x"),
    }
    for what, (args, message) in cases.items():
        out = run_worker(tmp_path, *common, *args)
        line = one_line_error(out)
        assert message in line, (what, line)
        assert "hunter2" not in out.stderr + out.stdout
    assert n_trials(pg_database, "s") == 0  # nothing written


def test_another_objective_is_refused_untouched(study, pg_database):
    before = share.load(Tuner.from_study("s", pg_database, "bad_target:train").study)
    with pytest.raises(ValueError, match="created for objective 'val/loss', not 'val/acc'"):
        Tuner(study.train, q=(0.5, 2.0), objective="val/acc", study_name="s",
              storage=pg_database)
    again = Tuner.from_study("s", pg_database, "bad_target:train")
    assert share.load(again.study) == before and n_trials(pg_database, "s") == 0


NB_CELLS = [
    """import sys; sys.path[:0] = [{tmp!r}, {root!r}]
import nbmonitor
from bad_target import train""",
    'nbmonitor.Tuner(train, q=(0.5, 2.0), storage="postgresql://nbm:pw@127.0.0.1:1/x")',
    'nbmonitor.Tuner(train, q=(0.5, 2.0), storage="mysql+nodriver://a@b/c")',
    'nbmonitor.Tuner(train, q=(0.5, 2.0), study_name="s", storage={url!r}, '
    'session={{"store": "postgresql://nbm@127.0.0.1:1/x"}})',
    'nbmonitor.Tuner(train, q=(0.5, 2.0), study_name="s", storage={url!r}, '
    'objective="val/acc")',
    'nbmonitor.Tuner.from_study("s", {url!r})',
]


@pytest.mark.notebook
def test_in_a_notebook_each_is_one_line(tmp_path, study, pg_database):
    fmt = {"tmp": str(tmp_path), "root": ROOT, "url": pg_database}
    nb = notebook(*[c.format(**fmt) for c in NB_CELLS], raises=(1, 2, 3, 4, 5))
    execute(nb, tmp_path, timeout=240)
    errors = []
    for cell in nb.cells[1:]:
        err = [o for o in cell.outputs if o.output_type == "error"]
        assert len(err) == 1, cell.outputs
        tb = "\n".join(err[0]["traceback"])
        assert len(err[0]["traceback"]) == 1 and "nbmonitor/" not in tb, tb
        errors.append(tb)
    assert "cannot open the study storage postgresql://nbm:***@127.0.0.1:1/x" in errors[0]
    assert "pw" not in errors[0].replace("postgresql", "")
    assert "cannot open the study storage mysql+nodriver" in errors[1]
    assert "cannot open the run store postgresql://nbm@127.0.0.1:1/x" in errors[2]
    assert "created for objective 'val/loss', not 'val/acc'" in errors[3]
    assert "pass --target bad_target:train" in errors[4]
    assert n_trials(pg_database, "s") == 0


def test_a_recipe_naming_subprocess_getoutput_runs_nothing(tmp_path, pg_database, capsys):
    """A hostile study: its recipe names subprocess:getoutput with a shell command as
    a fixed value. Neither a worker nor Tuner.from_study imports it without
    --target / --trust-study."""
    import optuna
    from nbmonitor.worker import main
    proof = tmp_path / "pwned"
    study = optuna.create_study(study_name="evil", storage=pg_database.replace(
        "postgresql://", "postgresql+psycopg://"))
    study.set_user_attr("nbmonitor", {
        "version": 1, "target": "subprocess:getoutput", "function": "getoutput",
        "space": {"cmd": {"kind": "choice", "choices": [f"touch {proof}"]}},
        "fixed": {}, "objective": "val/loss", "report_every": 10, "method": "random",
        "pruning": False})
    out = run_worker(tmp_path, "evil", "--storage", pg_database, "--n-trials", "1",
                     "--no-meters")
    line = one_line_error(out)
    assert "names 'subprocess:getoutput'" in line and "--target" in line
    with pytest.raises(ValueError, match="--trust-study"):
        Tuner.from_study("evil", pg_database)
    with pytest.raises(SystemExit):
        main(["evil", "--storage", pg_database])
    assert "subprocess:getoutput" in capsys.readouterr().err
    assert not proof.exists() and len(study.trials) == 0


def _returns(value):
    def train(q: float = 1.0):
        return value if q != 0.75 else 0.5
    return train


@pytest.mark.parametrize("value,message", [
    ("0.5", "returned '0.5' (a str), not a number"),
    (True, "returned True (a bool), not a number"),
    (10 ** 400, "is too large for a float"),
    ({"val/loss": "0.5"}, "returned '0.5' (a str), not a number"),
])
def test_objective_must_be_a_float(value, message):
    tuner = Tuner(_returns(value), q=[1.0, 0.75], storage=":memory:",
                  session={"meters": False, "store": False})
    tuner.study.enqueue_trial({"q": 1.0})
    tuner.study.enqueue_trial({"q": 0.75})
    df = tuner.sweep("random", n_trials=2, pruning=False)  # the sweep goes on
    assert list(df["status"]) == ["failed", "complete"]
    assert message in df["error"][0] and df["val/loss"][1] == 0.5


@pytest.mark.parametrize("option", [{"heartbeat": 2.5}, {"heartbeat": -1},
                                    {"heartbeat": True}, {"retry_failed": -2}])
def test_heartbeat_options_are_checked(tmp_path, option):
    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    with pytest.raises(ValueError, match="heartbeat is whole seconds|retry_failed is 0"):
        Tuner(_returns(0.5), q=[1.0, 0.75], storage=url, **option)
    assert not (tmp_path / "tuning.db").exists()  # nothing written
