"""What a monitor compares live traffic with: a seeded sample of the inputs given
as ``reference=`` (rows x features; a DataFrame's columns name the features) and
the model's outputs on that sample, computed once, on the caller's thread, when
the monitor is made (never on the worker thread)."""
from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np

from .drift import MAX_REFERENCE
from .outputs import MAX_COLUMNS, rows_of, to_numpy


def _take(data: Any, n: int = MAX_REFERENCE) -> Any:
    """At most ``n`` rows of ``data`` (array, tensor or DataFrame), a seeded sample."""
    size = len(data)
    if size <= n:
        return data
    idx = np.sort(np.random.default_rng(0).choice(size, n, replace=False))
    if hasattr(data, "iloc"):
        return data.iloc[idx]
    if hasattr(data, "detach"):  # torch: index with a tensor on the data's device
        import torch
        return data[torch.as_tensor(idx, device=data.device)]
    return data[idx]


def _no_grad(model: Any, x: Any) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        with torch.no_grad():
            return model(x)
    return model(x)


class Reference:
    """``inputs`` (rows x watched features, float64), their ``names``, and
    ``outputs`` (what the model returned on them, as numbers; None when it failed,
    with the reason in ``error``)."""

    def __init__(self, data: Any, model: Callable[..., Any],
                 output: Callable[[Any], Any] | None = None) -> None:
        part = _take(data)
        m = rows_of(to_numpy(part, "reference"))
        k = min(m.shape[1], MAX_COLUMNS)
        names = [str(c) for c in getattr(data, "columns", [])]
        self.names = names[:k] if len(names) >= k else [f"x{j}" for j in range(k)]
        self.inputs = m[:, :k].astype(np.float64)
        self.outputs: np.ndarray | None = None
        self.error: str | None = None
        try:
            out = _no_grad(model, part)
            self.outputs = to_numpy(out if output is None else output(out))
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
