"""Keras ``model.fit`` under ``%%monitor``, through nbclient, on both backends.

One notebook per backend (TensorFlow import is slow): the cells in
``keras_cells.py`` collect values, the tests here assert on them.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import keras_cells as C  # noqa: E402

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
if importlib.util.find_spec("keras") is None:  # not imported here: the kernel does
    pytest.skip("keras is not installed", allow_module_level=True)

pytestmark = [pytest.mark.framework, pytest.mark.notebook]
BACKENDS = ["tensorflow", "torch"]


def _cell(source: str, raises: bool = False):
    cell = nbformat.v4.new_code_cell(source)
    if raises:
        cell.metadata["tags"] = ["raises-exception"]
    return cell


def _notebook(backend: str):
    cells = [f"BACKEND = {backend!r}\n" + C.SETUP, C.FIT, C.FIT_CHECK, C.EARLY,
             C.EARLY_MONITORED, C.EARLY_CHECK, C.STOP, C.STOP_CHECK]
    nb_cells = [_cell(s) for s in cells]
    for exc in ("ValueError", "KeyboardInterrupt"):
        nb_cells += [_cell(C.BOOM.replace("{exc}", exc), raises=True), _cell(C.BOOM_CHECK)]
    if backend == "tensorflow":
        nb_cells += [_cell(C.CUSTOM_TF), _cell(C.CUSTOM_CHECK)]
    nb_cells.append(_cell(C.DUMP))
    return nbformat.v4.new_notebook(cells=nb_cells)


@pytest.fixture(scope="module", params=BACKENDS)
def result(request, tmp_path_factory) -> dict:
    backend = request.param
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    nb = _notebook(backend)
    path = tmp_path_factory.mktemp(f"keras_{backend}") / "keras.ipynb"
    nbformat.write(nb, path)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    nbformat.write(nb, path)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    res = json.loads(text.split("RESULT=", 1)[1])
    res["backend"] = backend
    res["outputs"] = nb.cells[1].outputs
    return res


def test_keras_is_imported_only_by_the_cell(result):
    assert result["keras_imported_before"] is False


def test_keras_batch_metrics_equal_what_a_callback_sees(result):
    fit = result["fit"]
    steps, loss = fit["loss"]
    assert loss == pytest.approx(fit["seen_loss"], rel=1e-6)
    assert fit["accuracy"][1] == pytest.approx(fit["seen_acc"], rel=1e-6)
    # 192 training rows / 32 = 6 batches per epoch, 3 epochs: the global step.
    assert steps == list(range(1, 19))
    assert fit["step"] == fit["iterations"] == 18
    assert fit["total"] == 18 and fit["epoch"] == 3 and fit["status"] == "finished"


def test_keras_validation_series_per_epoch(result):
    fit = result["fit"]
    val_steps, val_loss = fit["val_loss"]
    assert val_steps == [6, 12, 18]
    assert val_loss == pytest.approx(fit["seen_val_loss"], rel=1e-6)


def test_keras_learning_rate_follows_schedule(result):
    steps, lrs = result["fit"]["lr"]
    assert steps[0] == 0 and len(steps) >= 4
    assert lrs == pytest.approx([0.01 * 0.5 ** (s / 4) for s in steps], rel=1e-5)


def test_keras_progbar_and_evaluate_do_not_pollute(result):
    fit = result["fit"]
    assert fit["names"] == ["accuracy", "evaluate/accuracy", "evaluate/loss", "loss", "lr",
                            "val_accuracy", "val_loss"]
    assert len(fit["loss"][0]) == len(fit["seen_loss"])  # progbar text added nothing
    assert fit["evaluate_loss"] == [[18], [pytest.approx(fit["evaluated"]["loss"], rel=1e-6)]]
    printed = "".join(o.get("text", "") for o in result["outputs"] if o.get("name") == "stdout")
    assert "loss:" in printed and "━" in printed  # Keras's own text is still printed
    assert fit["fit_restored"]


def test_keras_early_stopping_unchanged(result):
    assert result["early_monitored"] == result["early_plain"]
    assert result["early_run"]["epoch"] == result["early_plain"][0]
    assert result["early_run"]["val"] == result["early_plain"][0]


def test_keras_stop_button_ends_fit(result):
    stop = result["stop"]
    assert stop == {"epochs": 1, "status": "stopped", "step": 3}


def test_keras_patches_removed_after_exceptions(result):
    boom = result["boom"]
    assert [b["status"] for b in boom] == ["failed", "interrupted"]
    for b in boom:
        assert b["fit_restored"] and b["apply_restored"] and b["meta_path_clean"]


def test_keras_custom_loop_steps_and_lr(result):
    if result["backend"] != "tensorflow":
        pytest.skip("GradientTape loop is TensorFlow only")
    custom = result["custom"]
    assert custom["step"] == 10
    steps, loss = custom["loss"]
    assert steps == list(range(1, 11))
    assert loss == pytest.approx(custom["printed"], abs=1e-4)
    assert custom["lr"][1] and all(v == pytest.approx(0.05) for v in custom["lr"][1])
