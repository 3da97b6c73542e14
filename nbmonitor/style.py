"""Colours shared by the live widgets, the static snapshot, compare and the tuner.

- :func:`metric_color` gives a series the same colour wherever it is drawn: by its
  role (train, validation, test) first, then by a stable hash of its name.
- :func:`run_color` colours the i-th run of a comparison.
- Live HTML takes its colours from JupyterLab's CSS variables (:func:`css`), so it
  reads in light and dark themes; the hex fallbacks are the light theme's, and
  snapshots (matplotlib, always light) use the hex values directly.
"""
from __future__ import annotations

import re
import zlib
from typing import Iterable

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
STATUS_COLORS = {"running": "#1a7f37", "paused": "#9a6700", "finished": "#0969da",
                 "stopped": "#8250df", "failed": "#cf222e", "interrupted": "#bc4c00",
                 "crashed": "#cf222e", "stopping": "#8250df"}
# JupyterLab variable for each status (both themes define them); hex is the fallback.
_STATUS_VARS = {"running": "--jp-success-color1", "paused": "--jp-warn-color1",
                "finished": "--jp-brand-color1", "failed": "--jp-error-color1",
                "interrupted": "--jp-warn-color1", "crashed": "--jp-error-color1",
                "stopping": "--jp-brand-color1"}

# Theme-following colours of the live views: JupyterLab variable, light fallback.
TEXT = "var(--jp-ui-font-color1, #1f2328)"
MUTED = "var(--jp-ui-font-color2, #57606a)"
BACKGROUND = "var(--jp-layout-color0, #ffffff)"
PANEL = "var(--jp-layout-color2, #f6f8fa)"
BORDER = "var(--jp-border-color1, #d0d7de)"
WARN = "var(--jp-warn-color1, #9a6700)"
ERROR = "var(--jp-error-color1, #cf222e)"
WARN_PANEL = "var(--jp-warn-color3, #fff8c5)"

_ROLES = [(re.compile(r"(^|[/_\- ])(train(ing)?)([/_\- ]|$)", re.I), 0),
          (re.compile(r"(^|[/_\- ])(val(id(ation)?)?|eval(uation)?|dev)([/_\- ]|$)", re.I), 1),
          (re.compile(r"(^|[/_\- ])(test)([/_\- ]|$)", re.I), 2)]


def metric_color(name: str, taken: Iterable[str] = ()) -> str:
    """The colour of series ``name``: train (or no role) blue, validation orange,
    test green, others by a stable hash of the name; a colour in ``taken`` (already
    used on the same chart) moves on to the next free one."""
    index = next((i for rx, i in _ROLES if rx.search(name)), None)
    if index is None:
        index = 0 if "/" not in name and "_" not in name else zlib.crc32(name.encode()) % len(PALETTE)
    taken = set(taken)
    for k in range(len(PALETTE)):
        color = PALETTE[(index + k) % len(PALETTE)]
        if color not in taken:
            return color
    return PALETTE[index % len(PALETTE)]


def series_colors(names: Iterable[str]) -> dict[str, str]:
    """Colours of the series of one chart, in order (no two alike while possible)."""
    out: dict[str, str] = {}
    for name in names:
        out[name] = metric_color(name, out.values())
    return out


def run_color(index: int) -> str:
    """The colour of the ``index``-th run of a comparison."""
    return PALETTE[index % len(PALETTE)]


def status_css(status: str) -> str:
    """A CSS colour for ``status`` that follows the JupyterLab theme."""
    hex_ = STATUS_COLORS.get(status, "#57606a")
    var = _STATUS_VARS.get(status)
    return f"var({var}, {hex_})" if var else hex_
