"""Small notebooks the browser and sharing tests write and run: a PyTorch MLP on
generated data (no downloads), trained for a fixed wall-clock time."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

HOSTILE_METRIC = "<img src=x onerror=window.__pwned=1>"
HOSTILE_NAME = "<b>run</b><img src=x onerror=alert(1)>"

SETUP = """\
import time
import torch
from torch import nn
import nbmonitor

torch.manual_seed(0)
torch.set_num_threads(1)
X = torch.randn(512, 8)
Y = (X[:, :4].sum(1) > 0).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
"""


def train_cell(seconds: float, magic_line: str = "", extra_log: str = "") -> str:
    """A ``%%monitor`` cell that trains for ``seconds`` of wall-clock time, sleeping
    a little per step so it stays light on a small machine."""
    log = f"    nbmonitor.log(**{{{extra_log!r}: loss.item()}})\n" if extra_log else ""
    return (f"%%monitor {magic_line}\n"
            "t0 = time.time()\n"
            f"while time.time() - t0 < {seconds}:\n"
            "    i = torch.randint(0, 512, (32,))\n"
            "    loss = loss_fn(model(X[i]), Y[i])\n"
            "    optimizer.zero_grad()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            f"{log}"
            "    time.sleep(0.03)\n")


def training_notebook(seconds: float, magic_line: str = "", extra_log: str = ""):
    """Three cells: load the extension, set up, train."""
    nb = new_notebook(cells=[new_code_cell("%load_ext nbmonitor"), new_code_cell(SETUP),
                             new_code_cell(train_cell(seconds, magic_line, extra_log))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
