"""``%%monitor_inference`` through a real IPython shell, with real torch and Keras
models: inference calls are watched, training calls and inner calls are not, and
the patched methods are the originals again after the cell."""
from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

pytestmark = pytest.mark.framework


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext nbmonitor", store_history=False)
    yield sh


def _summary(shell, name: str) -> dict:
    import nbmonitor
    runs = nbmonitor.runs()
    assert name in set(runs.name), list(runs.name)
    return runs[runs.name == name].iloc[-1]


def test_torch_eval_calls_are_watched_training_calls_are_not(shell):
    import torch
    original = torch.nn.Module.__call__
    res = shell.run_cell(
        "%%monitor_inference --name torch-cell\n"
        "import torch\n"
        "from torch import nn\n"
        "torch.manual_seed(0)\n"
        "net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))\n"
        "x = torch.randn(16, 4)\n"
        "net.train()\n"
        "for _ in range(4):\n"
        "    net(x).sum().backward()           # training: not watched\n"
        "net.eval()\n"
        "with torch.no_grad():\n"
        "    for _ in range(5):\n"
        "        out = net(x)                  # watched, once (not its layers)\n"
        "with torch.inference_mode():\n"
        "    out = net(x)\n")
    assert res.success, res.error_in_exec
    assert torch.nn.Module.__call__ is original
    row = _summary(shell, "torch-cell")
    assert row.status == "finished" and row.tags == ["inference"]
    assert row.step == 6  # calls


def test_keras_predict_is_watched_once(shell):
    keras = pytest.importorskip("keras")
    before = dict(keras.Model.__dict__)
    res = shell.run_cell(
        "%%monitor_inference --name keras-cell\n"
        "import numpy as np, keras\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n"
        "x = np.random.default_rng(0).normal(size=(32, 4)).astype('float32')\n"
        "for _ in range(3):\n"
        "    p = m.predict(x, verbose=0)        # watched once each\n"
        "y = m(x)                               # watched\n"
        "z = m(x, training=True)                # not watched\n")
    assert res.success, res.error_in_exec
    assert dict(keras.Model.__dict__).keys() == before.keys()
    row = _summary(shell, "keras-cell")
    assert row.step == 4


def test_bad_arguments_do_not_run_the_cell(shell, capsys):
    shell.user_ns.pop("ran", None)
    res = shell.run_cell("%%monitor_inference --serve nine\nran = True\n")
    assert not res.success and "ran" not in shell.user_ns


def test_serve_option_serves_while_the_cell_runs(shell):
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = shell.run_cell(
        f"%%monitor_inference --name served --serve {port}\n"
        "import torch, urllib.request\n"
        "net = torch.nn.Linear(4, 2).eval()\n"
        "with torch.no_grad():\n"
        "    for _ in range(7):\n"
        "        net(torch.randn(5, 4))\n"
        f"scraped = urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode()\n")
    assert res.success, res.error_in_exec
    assert 'nbmonitor_inference_requests_total{model="served"} 7.0' in shell.user_ns["scraped"]
    with pytest.raises(OSError):  # stopped with the cell
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
