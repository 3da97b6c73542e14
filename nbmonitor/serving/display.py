"""Showing a monitor in a notebook (the live panel) and freezing it at the end
(the static snapshot replaces the panel, like a training run's dashboard)."""
from __future__ import annotations

import sys
import traceback
from typing import Any

from ..env import frontend


def show(mon: Any) -> None:
    """Display the live panel (widgets) or the text summary (elsewhere). Displaying
    the same monitor again shows the same panel once more; once closed, its snapshot."""
    from IPython.display import display
    if frontend() != "widgets" or mon.closed:
        if mon.closed:
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
    mon._displays.append(display(mon.panel.widget, display_id=True))


def freeze(mon: Any) -> None:
    """Replace the live panel by the static snapshot; reports, never raises."""
    if mon.panel is None or not mon._displays:
        return
    try:
        from .snapshot import bundle
        data = bundle(mon)
        mon.panel.close()
        mon.panel = None
        for handle in mon._displays:  # every place the panel was shown
            handle.update(data, raw=True)
    except Exception:
        print("nbmonitor: could not draw the inference snapshot:\n"
              + traceback.format_exc(limit=3), file=sys.stderr)
