"""A tiny real PyTorch training function for the tuner tests (8 steps an epoch)."""
from __future__ import annotations

import torch
from torch import nn

import nbmonitor

STEPS_PER_EPOCH = 8


def train(lr: float = 0.05, q: float = 1.0, act: str = "relu", epochs: int = 3,
          fail: bool = False) -> None:
    """SGD on a 4-input regression; logs ``val/loss`` = ``q`` x the real loss ratio
    each epoch (``q`` makes good and bad trials by construction)."""
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    y = X.sum(1, keepdim=True)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=8)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU() if act == "relu" else nn.Tanh(),
                          nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if fail and epoch == 1:
            raise RuntimeError("diverged on purpose")
        with torch.no_grad():
            val = float(nn.functional.mse_loss(model(X), y))
        nbmonitor.log(**{"val/loss": q * (1.0 + val)})
