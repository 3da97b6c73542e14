"""Keras capture pieces that need no Keras: progress-bar lines, the import watcher,
and the session wiring that keeps Keras's progress text out of printed metrics."""
from __future__ import annotations

import sys

import pytest

from nbmonitor.hooks.keras_hooks import _ImportWatcher, is_progbar_line
from nbmonitor.session import Session

BAR = ("\x1b[1m 5/32\x1b[0m \x1b[32m━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━━━\x1b[0m "
       "\x1b[1m0s\x1b[0m 3ms/step - accuracy: 0.5312 - loss: 0.6931")


@pytest.mark.parametrize("line", [
    BAR,
    "\x08" * 12 + BAR,
    "32/32 - 0s - 3ms/step - accuracy: 0.5000 - loss: 0.6900 - val_loss: 0.7000",
    "     17/Unknown 2s 40ms/step - loss: 0.4000",
    "\x1b[1m1/1\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 30ms/step",
])
def test_keras_progbar_lines_are_recognized(line):
    assert is_progbar_line(line)


@pytest.mark.parametrize("line", [
    "Epoch 1/5", "loss: 0.5 val_loss: 0.6", "3/10 loss: 0.5", "step 3/10 - loss: 0.2", "",
])
def test_keras_other_lines_are_not(line):
    assert not is_progbar_line(line)


def test_keras_session_ignores_progbar_text_only(capsys):
    if "keras" in sys.modules:
        pytest.skip("keras already imported in this process")
    before = list(sys.meta_path)
    with Session("units", source="import keras", frontend="text", meters=False) as run:
        assert len(sys.meta_path) == len(before) + 1  # waits for the cell's import
        print(BAR)
        print("\x08\x08\r" + BAR.replace("5/32", "6/32"), end="\r")
        print("my_metric: 0.25")
    assert sys.meta_path == before
    assert run.buffer.names() == ["my_metric"]
    assert BAR in capsys.readouterr().out  # printed unchanged


def test_keras_import_watcher_runs_after_import(tmp_path, monkeypatch):
    (tmp_path / "nbm_fake_mod.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    watcher = _ImportWatcher("nbm_fake_mod", lambda: seen.append(sys.modules["nbm_fake_mod"].VALUE))
    sys.meta_path.insert(0, watcher)
    try:
        import nbm_fake_mod
    finally:
        if watcher in sys.meta_path:
            sys.meta_path.remove(watcher)
        sys.modules.pop("nbm_fake_mod", None)
    assert seen == [41]
    assert watcher not in sys.meta_path  # one shot
    assert type(nbm_fake_mod.__loader__).__name__ == "SourceFileLoader"
