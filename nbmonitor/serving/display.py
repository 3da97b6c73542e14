"""Showing a monitor in a notebook (the live panel) and freezing it at the end
(the static snapshot replaces the panel, like a training run's dashboard)."""
from __future__ import annotations

import sys
import traceback
from typing import Any

from ..env import frontend


def show(mon: Any) -> None:
    """Display the live panel (widgets) or the text summary (elsewhere). Displaying
    the same monitor again shows the same panel once more."""
    from IPython.display import display
    if frontend() != "widgets" or mon.closed:
        if mon.closed and mon._display is None:
            from .snapshot import bundle
            display(bundle(mon), raw=True)
            return
        from .summary import summary, text
        mon.sync()
        print(text(summary(mon), []))
        return
    if mon.panel is None:
        from .widget import InferencePanel
        mon.panel = InferencePanel(mon)
        mon.panel.refresh()
    handle = display(mon.panel.widget, display_id=True)
    if mon._display is None:
        mon._display = handle


def freeze(mon: Any) -> None:
    """Replace the live panel by the static snapshot; reports, never raises."""
    if mon.panel is None or mon._display is None:
        return
    try:
        from .snapshot import bundle
        data = bundle(mon)
        mon.panel.close()
        mon.panel = None
        mon._display.update(data, raw=True)
    except Exception:
        print("nbmonitor: could not draw the inference snapshot:\n"
              + traceback.format_exc(limit=3), file=sys.stderr)
