"""One place that decides where output goes: widgets in a kernel, text elsewhere.

``NBMONITOR_FRONTEND=widgets|text`` forces the choice (tests, odd frontends).
"""
from __future__ import annotations

import os


def frontend() -> str:
    """``"widgets"`` inside a Jupyter kernel, else ``"text"``."""
    forced = os.environ.get("NBMONITOR_FRONTEND", "").strip().lower()
    if forced in ("widgets", "text"):
        return forced
    try:
        from IPython import get_ipython
    except ImportError:
        return "text"
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return "widgets"
    return "text"
