"""Plain data for the model panel and its snapshot: a heat strip of update ratios
(layers x watched steps, log10) and the global gradient-norm series, read from the
buffer. Beyond ``max_rows`` layers, layers are merged by module prefix
(``encoder.layers.3.attn.q_proj`` -> ``encoder.layers.3``...) until they fit;
a merged ratio is ||sum of the updates|| / ||sum of the weights|| of its layers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GUIDE = 1e-3  # the update/weight ratio experience calls healthy
RATIO = "update_ratio/"
WEIGHT = "weight/norm/"


@dataclass(frozen=True)
class Heat:
    """``log10`` update ratios: ``values[i, j]`` is layer ``rows[i]`` at ``steps[j]``
    (NaN where not recorded); ``merged`` says layers were merged by prefix."""

    rows: list[str]
    steps: np.ndarray
    values: np.ndarray
    merged: bool


def layers(run) -> list[str]:
    """Layer names with update ratios, in the order they were first recorded."""
    return [s.name[len(RATIO):] for s in run.buffer if s.name.startswith(RATIO)]


def grad_norm_series(run) -> list[str]:
    """The global gradient norms: ``grad/norm`` or ``grad/norm/<optimizer>``
    (per-layer ``grad/norm/<layer>`` come with an update ratio; these don't)."""
    names = run.buffer.names()
    have = set(names)
    return [n for n in names if n == "grad/norm" or (
        n.startswith("grad/norm/") and f"{RATIO}{n[len('grad/norm/'):]}" not in have)]


def prefix_groups(names: list[str], max_rows: int) -> dict[str, list[str]]:
    """``{shown name: [layers]}``: each layer alone when they fit, else the
    deepest module-path prefix depth at which at most ``max_rows`` groups remain."""
    if len(names) <= max_rows:
        return {n: [n] for n in names}
    depth = max(n.count(".") for n in names)
    while depth >= 0:
        out: dict[str, list[str]] = {}
        for n in names:
            out.setdefault(".".join(n.split(".")[:depth + 1]) if depth else n.split(".")[0],
                           []).append(n)
        if len(out) <= max_rows or depth == 0:
            return out
        depth -= 1
    return {n: [n] for n in names}  # pragma: no cover


def heat(run, max_rows: int = 30, max_cols: int = 200) -> Heat | None:
    """The heat strip of ``run``, or None before any update ratio was recorded."""
    names = layers(run)
    if not names:
        return None
    buf = run.buffer
    data = {}
    for n in names:
        s, r, _ = buf.series(RATIO + n).arrays()
        w = (buf.series(WEIGHT + n).arrays()[1] if WEIGHT + n in buf else np.ones_like(r))
        if len(w) != len(r):
            w = np.ones_like(r)
        data[n] = (s, r, w)
    steps = np.unique(np.concatenate([d[0] for d in data.values()]))
    if len(steps) > max_cols:
        steps = steps[np.linspace(0, len(steps) - 1, max_cols).round().astype(int)]
    groups = prefix_groups(names, max_rows)
    values = np.full((len(groups), len(steps)), np.nan)
    for i, members in enumerate(groups.values()):
        moved = np.zeros(len(steps))
        weight = np.zeros(len(steps))
        seen = np.zeros(len(steps), bool)
        for n in members:
            s, r, w = data[n]
            at = np.searchsorted(steps, s)
            ok = (at < len(steps)) & (steps[np.minimum(at, len(steps) - 1)] == s)
            moved[at[ok]] += (r[ok] * w[ok]) ** 2
            weight[at[ok]] += w[ok] ** 2
            seen[at[ok]] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.sqrt(moved) / np.sqrt(weight)
            values[i] = np.where(seen & (ratio > 0), np.log10(ratio), np.nan)
    return Heat(list(groups), steps, values, len(groups) < len(names))
