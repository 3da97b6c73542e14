"""The writer's bookkeeping of what waits to be written."""
from __future__ import annotations

import numpy as np


def changed(now: dict, before: dict | None) -> bool:
    """Whether the hyperparameters changed since the last write (values that cannot
    be compared, too deep or circular, count as changed only when the keys did)."""
    try:
        return now != before
    except RecursionError:
        return before is None or list(now) != list(before)


def contiguous(pending: dict[str, list[tuple[int, np.ndarray]]]
                ) -> list[tuple[str, int, np.ndarray]]:
    """``(name, start, points)`` per run of consecutive parts of each series."""
    out = []
    for name, parts in pending.items():
        group: list[np.ndarray] = []
        start = nxt = None
        for st, pts in parts:
            if group and st != nxt:
                out.append((name, start, _joined(group)))
                group = []
            if not group:
                start = st
            group.append(pts)
            nxt = st + pts.shape[1]
        if group:
            out.append((name, start, _joined(group)))
    return out


def _joined(group: list[np.ndarray]) -> np.ndarray:
    # One part (one drain per flush, the usual case) is used as it is: a copy would
    # double the memory of a large batch while it is written.
    return group[0] if len(group) == 1 else np.concatenate(group, axis=1)
