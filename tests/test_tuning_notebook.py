"""A real kernel (nbclient) runs a 3-trial sweep: the tuner's output ends with the
static snapshot (an image) in place of the widget, whose state is not saved, and a
failing trial does not stop it."""
import base64

import pytest

from .nbutil import display_data, execute, notebook, result

pytestmark = [pytest.mark.notebook, pytest.mark.framework]

SETUP = """
import json, sys
sys.path.insert(0, {root!r})
import nbmonitor
from tests.tuning_train import train
tuner = nbmonitor.Tuner(train, q=(0.5, 2.0), fail=[False, True], study_name="nb",
                        storage=":memory:", session={{"meters": False}}, seed=3)
tuner.study.enqueue_trial({{"q": 1.0, "fail": True}})
"""

SWEEP = 'df = tuner.sweep("random", n_trials=3, pruning=False)'

CHECK = """print(json.dumps({"statuses": list(df["status"]), "n": len(df),
                  "error": df["error"][0]}))"""


def test_sweep_in_a_kernel_freezes_to_an_image(tmp_path):
    import pathlib
    root = str(pathlib.Path(__file__).resolve().parents[1])
    nb = notebook(SETUP.format(root=root), SWEEP, CHECK)
    execute(nb, tmp_path, timeout=240)
    out = result(nb.cells[2])
    assert out["n"] == 3 and out["statuses"][0] == "failed"
    assert "diverged on purpose" in out["error"]
    bundles = display_data(nb.cells[1])
    assert len(bundles) == 1  # the tuner, updated in place
    data = bundles[0]
    assert "application/vnd.jupyter.widget-view+json" not in data  # frozen: no widget
    assert not nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state")  # all closed
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert "3 trials" in data["text/plain"]
    assert not [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
