"""PyTorch Lightning ``Trainer.fit`` under ``%%monitor``, through nbclient.

One notebook (``lightning_cells.py``): a tiny LightningModule on generated data,
2 epochs of 8 steps with 2 validation batches, next to a plain Callback that
writes down what Lightning shows callbacks; the tests compare the run's series
with it, value for value and step for step.
"""
from __future__ import annotations

import importlib.util
import json
import pytest

from . import lightning_cells as C
from . import nbutil

if importlib.util.find_spec("pytorch_lightning") is None:  # the kernel imports it
    pytest.skip("pytorch_lightning is not installed", allow_module_level=True)

pytestmark = [pytest.mark.framework, pytest.mark.notebook]
STEPS = list(range(1, 17))


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    cells = [C.SETUP, C.FIT, C.FIT_CHECK, C.STOP, C.STOP_CHECK, C.BOOM, C.BOOM_CHECK, C.DUMP]
    nb = nbutil.notebook(*cells, raises=(5,))
    path = tmp_path_factory.mktemp("lightning")
    nbutil.execute(nb, path, timeout=300, env={"OMP_NUM_THREADS": "1"})
    res = json.loads(nbutil.text(nb.cells[-1]).split("RESULT=", 1)[1])
    res["fit_outputs"] = nb.cells[1].outputs
    return res


def test_lightning_is_imported_only_by_the_cell(result):
    assert result["imported_before"] is False
    assert result["patched_on_import"] is True


def test_step_logs_equal_what_a_callback_sees(result):
    fit, seen = result["fit"], result["fit"]["seen"]["batch"]
    assert [s for s, _, _ in seen] == STEPS, "global_step after each batch"
    steps, loss = fit["series"]["train_loss"]
    assert steps == STEPS and loss == [v for _, v, _ in seen]
    steps, mae = fit["series"]["mae"]  # on_step and on_epoch: Lightning's mae_step, once
    assert steps == STEPS and mae == [v for _, _, v in seen]
    # Logged in the module's own on_train_batch_end (after callbacks): same step.
    assert fit["series"]["late"] == [STEPS, [float(i) for i in range(8)] * 2]


def test_epoch_means_and_validation_once_per_run(result):
    fit = result["fit"]
    epoch, val = fit["seen"]["epoch"], fit["seen"]["val"]
    assert [s for s, _, _ in epoch] == [8, 16] and [s for s, _, _ in val] == [8, 16]
    assert fit["series"]["mae_epoch"] == [[8, 16], [v for _, v, _ in epoch]]
    assert fit["series"]["ep_only"] == [[8, 16], [v for _, _, v in epoch]]
    assert fit["series"]["val_loss"] == [[8, 16], [v for _, v, _ in val]]  # no sanity check
    assert fit["series"]["val_mae"] == [[8, 16], [v for _, _, v in val]]
    assert fit["groups"] == ["loss", "loss", "loss"]  # val_loss shares train_loss's chart


def test_no_duplicate_loss_and_no_printed_series(result):
    fit = result["fit"]
    # train/loss and grad/norm: the torch hooks; train_loss: the module's own self.log.
    # Nothing else: no Lightning loss, no progress-bar or model-summary numbers through
    # print capture.
    assert fit["names"] == ["ep_only", "grad/norm", "late", "lr", "mae", "mae_epoch",
                            "train/loss", "train_loss", "val_loss", "val_mae"]
    steps, loss = fit["series"]["train/loss"]
    assert steps == STEPS and loss == pytest.approx(fit["series"]["train_loss"][1], rel=1e-6)
    shown = json.dumps([dict(o) for o in result["fit_outputs"]])
    assert "Total params" in shown, "the model summary was on: it was shown, not recorded"


def test_run_counters_and_restore(result):
    fit = result["fit"]
    assert fit["status"] == "finished" and fit["step"] == fit["global_step"] == 16
    assert fit["total"] == 16 and fit["epoch"] == 2
    assert fit["restored"] == {"fit": True, "log": True, "meta_path": True}
    assert fit["callbacks_clean"] and fit["stop_owner"] is None


def test_stop_request_ends_fit_gracefully(result):
    stop = result["stop"]
    # Asked inside training_step of batch 3: that step ends, then fit returns normally
    # (one validation, as for EarlyStopping) and the rest of the cell runs.
    assert stop["after_fit"] and stop["state"] == "finished"
    assert stop["status"] == "stopped" and stop["global_step"] == stop["step"] == 3
    assert stop["val_loss"][0] == [3]
    assert stop["restored"] == {"fit": True, "log": True, "meta_path": True}


def test_exception_in_fit_restores(result):
    assert result["boom"] == {"status": "failed",
                              "restored": {"fit": True, "log": True, "meta_path": True}}
