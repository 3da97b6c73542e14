"""What a model returned, as numbers: arrays from tensors, the task (classifier or
regressor), the columns drift is computed on, and the output statistics."""
from __future__ import annotations

from typing import Any

import numpy as np

MAX_COLUMNS = 64  # features / outputs watched for drift (the first ones)


class NotNumeric(TypeError):
    """A model's input or output that nbmonitor cannot read as numbers."""


def to_numpy(obj: Any, what: str = "output") -> np.ndarray:
    """``obj`` (numpy, torch/TF tensor, pandas, list) as a numeric numpy array."""
    if hasattr(obj, "detach"):  # torch: no copy for CPU tensors, one copy from a device
        obj = obj.detach()
        if getattr(obj, "is_cuda", False) or getattr(obj.device, "type", "cpu") != "cpu":
            obj = obj.cpu()
        if obj.dtype.is_floating_point and obj.dtype.itemsize < 4:
            obj = obj.float()
        obj = obj.numpy()
    elif hasattr(obj, "to_numpy"):  # pandas
        obj = obj.to_numpy()
    elif hasattr(obj, "numpy") and not isinstance(obj, np.ndarray):  # TF eager tensors
        obj = obj.numpy()
    try:
        arr = np.asarray(obj)
    except Exception as e:
        raise NotNumeric(f"the model's {what} ({type(obj).__name__}) is not an array "
                         f"of numbers: {e}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise NotNumeric(f"the model's {what} is not numeric ({type(obj).__name__} of "
                         f"dtype {arr.dtype}); pass output=fn to pick the numbers out "
                         "(e.g. output=lambda out: out.logits)")
    return arr


def rows_of(arr: np.ndarray) -> np.ndarray:
    """A 2-D ``(rows, columns)`` view: scalars are one row, images are flattened."""
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    return arr.reshape(arr.shape[0], -1)


def detect_task(arr: np.ndarray) -> str:
    """``classification`` for integer labels or a 2-D score matrix, else ``regression``."""
    if arr.ndim == 2 and arr.shape[1] >= 2 and np.issubdtype(arr.dtype, np.floating):
        return "classification"
    if arr.ndim <= 1 and (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        return "classification"
    return "regression"


def probabilities(scores: np.ndarray) -> np.ndarray:
    """Class probabilities: the scores themselves when rows already sum to 1,
    else their softmax (logits)."""
    s = scores.astype(np.float64, copy=False)
    if s.min(initial=0.0) >= 0 and np.allclose(s.sum(axis=1), 1.0, atol=1e-3):
        return s
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def predicted_labels(arr: np.ndarray, task: str) -> np.ndarray:
    """Class labels (argmax of scores) for a classifier; the values for a regressor."""
    if task == "classification":
        return arr.argmax(axis=1) if arr.ndim == 2 else arr.reshape(-1)
    m = rows_of(arr)
    return m[:, 0] if m.shape[1] == 1 else m


def output_columns(arr: np.ndarray, task: str) -> dict[str, np.ndarray]:
    """The 1-D columns drift watches: ``pred_class`` and ``max_prob`` for a
    classifier with scores (``pred_class`` alone for labels); ``output`` (or
    ``output_0``, ``output_1``...) for a regressor."""
    if task == "classification":
        if arr.ndim == 2:
            p = probabilities(arr)
            return {"pred_class": p.argmax(axis=1).astype(np.float64),
                    "max_prob": p.max(axis=1)}
        return {"pred_class": arr.reshape(-1).astype(np.float64)}
    m = rows_of(arr).astype(np.float64, copy=False)
    if m.shape[1] == 1:
        return {"output": m[:, 0]}
    return {f"output_{j}": m[:, j] for j in range(min(m.shape[1], MAX_COLUMNS))}


def output_stats(cols: dict[str, np.ndarray], task: str) -> dict[str, float]:
    """Mean, std and quantiles of a regressor's outputs; mean max-probability of
    a classifier's (from the rows drift keeps in its window)."""
    out: dict[str, float] = {}
    if task == "classification":
        if "max_prob" in cols and len(cols["max_prob"]):
            out["max_prob"] = float(np.mean(cols["max_prob"]))
        return out
    v = cols.get("output", cols.get("output_0"))
    if v is None or not len(v):
        return out
    v = v[np.isfinite(v)]
    if len(v):
        q5, q50, q95 = np.quantile(v, (0.05, 0.5, 0.95))
        out.update(mean=float(v.mean()), std=float(v.std()), p5=float(q5), p50=float(q50),
                   p95=float(q95))
    return out
