"""What an executed notebook keeps of a monitored cell: the static snapshot, and no
state of the dashboard's closed widgets; a failing cell's traceback shows the cell."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from tests.nbutil import execute, notebook

ROOT = Path(__file__).resolve().parents[1]
STATE = "application/vnd.jupyter.widget-state+json"
VIEW = "application/vnd.jupyter.widget-view+json"


def widget_state(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(STATE, {}).get("state", {})


def test_executed_quickstart_carries_only_the_snapshot(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    execute(nb, tmp_path, timeout=600)
    assert widget_state(nb) == {}  # the frozen dashboard left no widget state
    monitored = next(c for c in nb.cells if c.source.startswith("%%monitor"))
    shown = [o for o in monitored.outputs if o.output_type in ("display_data", "update_display_data")]
    assert len(shown) == 1 and VIEW not in shown[0].data
    assert shown[0].data["image/png"] and "quickstart" in shown[0].data["text/plain"]
    # drawn at 2x, displayed at its CSS size
    assert shown[0].metadata["image/png"]["width"] > 300
    path = tmp_path / "quickstart.ipynb"
    nbformat.write(nb, str(path))
    size = path.stat().st_size
    print(f"executed quickstart: {size} bytes, monitored cell {len(json.dumps(monitored))} bytes")
    # 183 KB when the dead widget state stayed in (93 KB of it); now nearly all of it is
    # the snapshot's PNG (metric charts, the model panel's gradient norm, meters)
    assert size < 140_000


def test_keep_live_keeps_the_live_widget_state(tmp_path):
    nb = notebook("%load_ext nbmonitor",
                  "%%monitor --keep-live --no-meters --store off\n"
                  "import nbmonitor\n"
                  "for i in range(20):\n    nbmonitor.log(loss=1 / (i + 1), step=i)\n")
    execute(nb, tmp_path)
    view = next(o for o in nb.cells[1].outputs if o.output_type == "display_data")
    model = view.data[VIEW]["model_id"]
    state = widget_state(nb)
    assert model in state and state[model]["model_name"] == "VBoxModel"


def test_a_failing_cell_shows_its_own_frames(tmp_path):
    nb = notebook("%load_ext nbmonitor",
                  "%%monitor --no-meters --store off\nx = 1\ndef f():\n    return 1 / 0\nf()\n",
                  raises=(1,))
    execute(nb, tmp_path)
    err = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))
    assert err.ename == "ZeroDivisionError"
    assert "Cell In[2], line 5" in tb and "Cell In[2], line 4, in f()" in tb
    assert "----> 5 f()" in tb and "magic.py" not in tb and "session.py" not in tb
