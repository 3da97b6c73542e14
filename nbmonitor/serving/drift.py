"""Drift of a model's inputs and outputs against a reference: PSI over 10 quantile
bins of the reference and a two-sample Kolmogorov-Smirnov test (``scipy.stats``),
per column, on a sliding window of the last ``window`` rows.

A check runs each time ``stride`` new rows (half a window) arrived, once the
window is full: never on a window that is still filling. KS p-values are
Bonferroni-adjusted over the columns checked together (times the number of
columns, at most 1), so watching many features does not multiply false alarms.
Categorical columns (a classifier's ``pred_class``) get PSI over their values and
no KS test.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

BINS = 10
EPS = 1e-4  # floor of a bin's share, so an empty bin gives a large PSI, not inf
MAX_REFERENCE = 5_000  # reference rows kept (a seeded sample beyond)


def psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins."""
    r = np.maximum(ref_share, EPS)
    c = np.maximum(cur_share, EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def sample(rows: np.ndarray, n: int = MAX_REFERENCE, seed: int = 0) -> np.ndarray:
    """At most ``n`` rows of ``rows``, a seeded sample when there are more."""
    if len(rows) <= n:
        return rows
    idx = np.random.default_rng(seed).choice(len(rows), n, replace=False)
    return rows[np.sort(idx)]


class DriftTracker:
    """Drift of named columns: a reference per column, a ring of recent rows."""

    def __init__(self, names: list[str], window: int = 1000,
                 categorical: frozenset[str] = frozenset(),
                 reference: np.ndarray | None = None) -> None:
        if window < 10:
            raise ValueError("the drift window needs at least 10 rows")
        self.names = list(names)
        self.window = window
        self.stride = max(1, window // 2)
        self.categorical = categorical
        self._ring = np.full((window, len(names)), np.nan)
        self._pos = 0  # rows written so far (ring index = pos % window)
        self._last_check = 0
        self.reference: np.ndarray | None = None
        self._edges: list[np.ndarray] = []
        self._ref_share: list[np.ndarray] = []
        self.latest: dict[str, dict[str, float]] = {}  # name -> {"psi", "ks_p"}
        if reference is not None:
            self.set_reference(reference)

    @property
    def rows(self) -> int:
        return self._pos

    def set_reference(self, reference: np.ndarray) -> None:
        """Fix the reference (rows x columns); bins are its deciles."""
        ref = sample(np.asarray(reference, np.float64).reshape(len(reference), -1))
        if ref.shape[1] != len(self.names):
            raise ValueError(f"the reference has {ref.shape[1]} columns, expected "
                             f"{len(self.names)}")
        self.reference = ref
        self._edges, self._ref_share = [], []
        for j, name in enumerate(self.names):
            col = ref[:, j][np.isfinite(ref[:, j])]
            if name in self.categorical:
                edges = np.unique(col)
            else:
                edges = np.unique(np.quantile(col, np.linspace(0, 1, BINS + 1)[1:-1])) \
                    if len(col) else np.zeros(0)
            self._edges.append(edges)
            self._ref_share.append(self._shares(col, edges, name))

    def _shares(self, col: np.ndarray, edges: np.ndarray, name: str) -> np.ndarray:
        if name in self.categorical:
            # one bin per reference value, one more for values never seen there
            idx = np.searchsorted(edges, col)
            known = (idx < len(edges)) & (edges[np.minimum(idx, len(edges) - 1)] == col) \
                if len(edges) else np.zeros(len(col), bool)
            counts = np.bincount(np.where(known, idx, len(edges)), minlength=len(edges) + 1)
        else:
            counts = np.bincount(np.searchsorted(edges, col, side="right"),
                                 minlength=len(edges) + 1)
        return counts / max(1, len(col))

    def add(self, rows: np.ndarray) -> None:
        """Append rows (``n x columns``); only the last ``window`` are kept."""
        n = len(rows)
        if n >= self.window:
            self._ring[:] = rows[-self.window:]
            self._pos += n
            # keep ring order consistent: the next row goes after the newest one
            self._ring = np.roll(self._ring, self._pos % self.window, axis=0)
            return
        start = self._pos % self.window
        end = start + n
        if end <= self.window:
            self._ring[start:end] = rows
        else:
            cut = self.window - start
            self._ring[start:] = rows[:cut]
            self._ring[:n - cut] = rows[cut:]
        self._pos += n

    def recent(self) -> np.ndarray:
        """The rows of the window, oldest first (fewer while it fills)."""
        if self._pos < self.window:
            return self._ring[:self._pos]
        start = self._pos % self.window
        return np.concatenate([self._ring[start:], self._ring[:start]])

    def due(self) -> bool:
        """Whether a check is due: the window is full and ``stride`` rows are new."""
        return self._pos >= self.window and self._pos - self._last_check >= self.stride

    def check(self) -> dict[str, dict[str, float]]:
        """PSI and adjusted KS p-value per column on the current window."""
        if self.reference is None:
            self.set_reference(self.recent())  # the first full window is the reference
        self._last_check = self._pos
        cur = self.recent()
        out: dict[str, dict[str, float]] = {}
        continuous = sum(1 for n in self.names if n not in self.categorical)
        for j, name in enumerate(self.names):
            col = cur[:, j][np.isfinite(cur[:, j])]
            ref = self.reference[:, j]
            ref = ref[np.isfinite(ref)]
            if not len(col) or not len(ref):
                continue
            res = {"psi": psi(self._ref_share[j], self._shares(col, self._edges[j], name))}
            if name not in self.categorical:
                p = float(stats.ks_2samp(ref, col).pvalue)
                res["ks_p"] = min(1.0, p * continuous)
            out[name] = res
        self.latest = out
        return out

    def ranked(self) -> list[tuple[str, dict[str, float]]]:
        """The latest results, most drifted (highest PSI) first."""
        return sorted(self.latest.items(), key=lambda kv: -kv[1]["psi"])
