"""``TunerError``: a mistake in what the tuner was given (a storage it cannot open,
a study made for another objective, a target it will not import).

It is a :class:`ValueError`, so scripts catch it as before; in IPython it shows as
its one line (``_render_traceback_``), not as a traceback through nbmonitor's own
frames: the message says what to change, the frames would only hide it.
"""
from __future__ import annotations


class TunerError(ValueError):
    """A bad input to the tuner; shown in a notebook as one line."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]
