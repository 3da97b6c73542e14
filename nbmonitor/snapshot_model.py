"""The model panel in the frozen snapshot: the update-ratio heat strip and the
global gradient norm, drawn with matplotlib like the other snapshot charts."""
from __future__ import annotations

from typing import Callable

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm

from .model_health import GUIDE, grad_norm_series, heat
from .style import series_colors
from .ticks import wants_log

_CMAP = LinearSegmentedColormap.from_list("nbm-ratio", ["#2166ac", "#4dac26", "#d01c8b"])


def parts(run, max_points: int = 2000) -> list[Callable]:
    """One drawing function per snapshot panel (``fn(ax)``): the heat strip when
    update ratios were recorded, the gradient-norm chart when norms were."""
    out: list[Callable] = []
    h = heat(run)
    if h is not None:
        out.append(lambda ax: _draw_heat(ax, h))
    names = grad_norm_series(run)
    if names:
        out.append(lambda ax: _draw_norms(ax, run, names, max_points))
    return out


def _draw_heat(ax, h) -> None:
    mid = float(np.log10(GUIDE))
    finite = h.values[np.isfinite(h.values)]
    lo = float(np.floor(min(mid - 1, finite.min() if len(finite) else mid - 3)))
    hi = float(np.ceil(max(mid + 1, finite.max() if len(finite) else mid + 3)))
    img = ax.imshow(np.ma.masked_invalid(h.values), aspect="auto", interpolation="nearest",
                    cmap=_CMAP, norm=TwoSlopeNorm(mid, lo, hi))
    ax.set_title("update ratio per layer (log10, 1e-3 = green)"
                 + (" - merged by prefix" if h.merged else ""), fontsize=9)
    ax.set_yticks(range(len(h.rows)))
    size = 7 if len(h.rows) <= 12 else 5
    ax.set_yticklabels(h.rows, fontsize=size)
    ticks = np.linspace(0, len(h.steps) - 1, min(6, len(h.steps))).round().astype(int)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{h.steps[t]:g}" for t in ticks], fontsize=7)
    ax.set_xlabel("step", fontsize=7)
    bar = ax.figure.colorbar(img, ax=ax, fraction=0.05, pad=0.02)
    step = max(1, int((hi - lo) // 6))
    ticks = np.arange(lo, hi + 0.5, step)
    bar.set_ticks(ticks, labels=[f"1e{t:.0f}" for t in ticks])
    bar.ax.tick_params(labelsize=6)
    bar.ax.axhline(mid, color="black", lw=0.8)


def _draw_norms(ax, run, names: list[str], max_points: int) -> None:
    """The gradient-norm chart as the live panel draws it: the same colours (one
    palette, :func:`nbmonitor.style.series_colors`), y scale and round ticks."""
    from .snapshot import _scale
    ax.set_title("grad/norm", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    colors = series_colors(names)
    values = []
    for name in names:
        view = run.buffer.series(name).view(max_points)
        values.append(view.values)
        ax.plot(view.steps, view.values, color=colors[name], lw=1.2,
                marker="." if len(view) < 3 else None, label=name)
    data = np.concatenate(values) if values else np.zeros(0)
    _scale(ax, data, wants_log(data))  # the live chart's automatic choice
    ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("step", fontsize=7)
