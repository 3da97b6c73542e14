"""A failing monitored cell shows the user's frames only, from the cell's own frame
(with the cell's real lines) to the failing line, in a real kernel; the run and its
points stay recorded. An interrupt shows where the loop was, nothing of IPython's
or nbmonitor's frames."""
from __future__ import annotations

import json
import re

import pytest

from nbmonitor.cell_traceback import without_ours
from tests.nbutil import execute, notebook, text

SETUP = "%load_ext nbmonitor\nimport json, time\nimport nbmonitor"
DEFINE = """def train_step(i):
    if i == 5:
        raise ValueError(f"diverged at step {i}")
    return 1.0 / (i + 1)
"""
FAIL = """%%monitor --name tb-fail --no-meters --store runs.db
for i in range(10):
    loss = train_step(i)
    nbmonitor.log(loss=loss, step=i)
"""
CHECK = """run = nbmonitor.load("tb-fail", store="runs.db")
print(json.dumps({"status": run.status, "steps": run.series("loss")["step"].tolist()}))
"""
BAD_VALUE = """%%monitor --name tb-bad --no-meters --store off
nbmonitor.log(loss=0.5, step=0)
nbmonitor.log(loss="high", step=1)
"""
INTERRUPT = """%%monitor --name tb-interrupt --no-meters --store runs.db
for i in range(100_000):
    nbmonitor.log(loss=1 / (i + 1), step=i)
    time.sleep(0.01)
"""
FOREIGN = ("run_cell_magic", "magic.py", "nbmonitor/", "site-packages", "session.py",
           "[... skipping")


def plain(output) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.traceback))


def error(cell):
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return errors[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = notebook(SETUP, DEFINE, FAIL, CHECK, BAD_VALUE, INTERRUPT, raises=(2, 4, 5))
    return execute(nb, tmp_path_factory.mktemp("tb"), interrupt={5: 5.0})


def test_failing_cell_shows_only_the_users_frames(executed):
    err = error(executed.cells[2])
    tb = plain(err)
    print(tb)
    assert err.ename == "ValueError" and err.evalue == "diverged at step 5"
    assert [w for w in FOREIGN if w in tb] == [], tb
    # the cell's frame first, with the cell's real lines, then the function's
    frames = re.findall(r"^Cell In\[(\d+)\], line (\d+)(.*)$", tb, re.M)
    assert frames == [("3", "3", ""), ("2", "3", ", in train_step(i)")], frames
    assert "1 %%monitor --name tb-fail" in tb
    assert "----> 3     loss = train_step(i)" in tb
    assert "----> 3         raise ValueError(f\"diverged at step {i}\")" in tb
    assert tb.rstrip().endswith("ValueError: diverged at step 5")


def test_recorded_data_stays(executed):
    shown = json.loads(text(executed.cells[3]).strip().splitlines()[-1])
    assert shown == {"status": "failed", "steps": [0.0, 1.0, 2.0, 3.0, 4.0]}


def test_an_error_raised_inside_nbmonitor_ends_at_the_users_line(executed):
    err = error(executed.cells[4])
    tb = plain(err)
    assert err.ename == "TypeError" and "loss='high' is not a number" in err.evalue
    assert [w for w in FOREIGN if w in tb] == [], tb
    assert re.findall(r"^Cell In\[(\d+)\], line (\d+)", tb, re.M) == [("5", "3")], tb


def test_an_interrupt_shows_where_the_loop_was(executed):
    err = error(executed.cells[5])
    tb = plain(err)
    print(tb)
    assert err.ename == "KeyboardInterrupt"
    assert [w for w in FOREIGN if w in tb] == [], tb
    assert re.findall(r"^Cell In\[(\d+)\]", tb, re.M) == ["6"], tb
    assert re.search(r"----> [34] ", tb) and tb.rstrip().endswith("KeyboardInterrupt:"), tb


def test_without_ours_drops_only_nbmonitor_frames():
    import nbmonitor

    with nbmonitor.monitor("tb-unit", meters=False, store=False):
        try:
            nbmonitor.log(loss=object())
        except TypeError as e:
            tb = e.__traceback__
    names = []
    t = without_ours(tb)
    while t is not None:
        names.append(t.tb_frame.f_code.co_filename)
        t = t.tb_next
    assert names == [__file__]
    assert without_ours(None) is None
