"""Quality once true labels arrive, computed with scikit-learn's metrics.

Classifiers: accuracy, precision / recall / F1 (macro and per class) over the
last ``window`` labelled rows, and a confusion matrix over every label received
(summed batch by batch, so it stays small however many arrive). Regressors: MAE
and RMSE over the window. Memory is bounded by the window.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from sklearn import metrics as skm


class QualityTracker:
    """Labelled rows of one model and the metrics computed on them."""

    def __init__(self, task: str, window: int = 10_000) -> None:
        self.task = task
        self.window = window
        self.labelled = 0
        self._true: deque[np.ndarray] = deque()
        self._pred: deque[np.ndarray] = deque()
        self._kept = 0
        self.classes: np.ndarray = np.zeros(0)
        self.confusion = np.zeros((0, 0), np.int64)
        self.latest: dict[str, Any] = {}

    def add(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """One batch of labels and the predictions they belong to (same length)."""
        self._true.append(y_true)
        self._pred.append(y_pred)
        self._kept += len(y_true)
        self.labelled += len(y_true)
        while self._kept - len(self._true[0]) >= self.window:
            self._kept -= len(self._true.popleft())
            self._pred.popleft()
        if self.task == "classification":
            self._confuse(y_true, y_pred)

    def _confuse(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        classes = np.union1d(self.classes, np.union1d(y_true, y_pred))
        if len(classes) != len(self.classes):  # grow the matrix to the new classes
            grown = np.zeros((len(classes), len(classes)), np.int64)
            at = np.searchsorted(classes, self.classes)
            grown[np.ix_(at, at)] = self.confusion
            self.classes, self.confusion = classes, grown
        self.confusion += skm.confusion_matrix(y_true, y_pred, labels=self.classes)

    def compute(self) -> dict[str, Any]:
        """The metrics over the window (empty before any label)."""
        if not self._true:
            return {}
        y_true = np.concatenate(self._true)[-self.window:]
        y_pred = np.concatenate(self._pred)[-self.window:]
        if self.task == "classification":
            labels = np.union1d(y_true, y_pred)
            p, r, f, support = skm.precision_recall_fscore_support(
                y_true, y_pred, labels=labels, zero_division=0)
            out: dict[str, Any] = {
                "accuracy": float(skm.accuracy_score(y_true, y_pred)),
                "precision": float(np.mean(p)), "recall": float(np.mean(r)),
                "f1": float(np.mean(f)),
                "per_class": {label(c): {"precision": float(p[i]), "recall": float(r[i]),
                                          "f1": float(f[i]), "support": int(support[i])}
                              for i, c in enumerate(labels)}}
        else:
            out = {"mae": float(skm.mean_absolute_error(y_true, y_pred)),
                   "rmse": float(skm.root_mean_squared_error(y_true, y_pred))}
        out["labelled"] = self.labelled
        self.latest = out
        return out


def label(c: Any) -> str:
    """A class label as text: ``3`` rather than ``3.0``."""
    f = float(c)
    return str(int(f)) if f.is_integer() else str(c)
