"""A monitored cell's code and the traceback of an exception it raises.

The cell is compiled as IPython compiles a cell: under the cell's own number, so
a frame reads "Cell In[N], line L" with the notebook's line numbers, and the
lines shown are the cell's own, ``%%monitor`` line included.

An exception that leaves the cell passes through IPython's
``run_cell_magic(...)`` call and nbmonitor's frames before IPython shows it.
:func:`show_from_cell` gives the exception a ``_render_traceback_`` (IPython's
hook for exceptions that render themselves) that starts at the cell's frame and
leaves out nbmonitor's frames, in the shell's own traceback style (``%xmode``).
"""
from __future__ import annotations

import linecache
import os
import sys
from types import CodeType, TracebackType
from typing import Any

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def compile_cell(shell: Any, magic: str, cell: str) -> tuple[CodeType, str]:
    """The code of ``cell`` and its file name, cached as cell number N's code.

    The code has a blank first line in place of the cell magic's line ``magic``
    (so line numbers are the notebook's); the lines a traceback shows are the
    cell's own, ``magic`` first.
    """
    source = "\n" + cell
    name = shell.compile.cache(source, cell_number(shell))
    shown = [magic.rstrip() + "\n"] + [t + "\n" for t in cell.splitlines()]
    linecache.cache[name] = (len(source), None, shown, name)
    return shell.compile(source, name, "exec"), name


def cell_number(shell: Any) -> int:
    """The execution count of the cell running now (IPython has already counted on
    to the next one): the number of the calling cell's code, found on the stack."""
    names = getattr(shell.compile, "_filename_map", {})
    frame = sys._getframe(1)
    while frame is not None:
        number = names.get(frame.f_code.co_filename)
        if number is not None:
            return number
        frame = frame.f_back
    return max(0, shell.execution_count - 1)


def from_cell(tb: TracebackType | None, filename: str) -> TracebackType | None:
    """The part of ``tb`` from the first frame of ``filename`` on, without
    nbmonitor's own frames; None when no frame is the cell's."""
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return None if tb is None else without_ours(tb)


def without_ours(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without nbmonitor's own frames (hooks and wrappers the user's code
    passed through); ``tb`` itself when every frame is nbmonitor's."""
    kept = []
    head = tb
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
            kept.append(tb)
        tb = tb.tb_next
    if not kept:
        return head
    out = None
    for t in reversed(kept):
        out = TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def show_from_cell(exc: BaseException, filename: str, shell: Any) -> None:
    """Make IPython show ``exc`` from the cell's frame on (see the module docstring).

    Nothing changes for an exception that renders itself already or takes no
    attributes; an exception with no frame in the cell is shown as IPython would
    (a ``KeyboardInterrupt`` raised as the run closes: its name alone).
    """
    if hasattr(exc, "_render_traceback_"):
        return

    def render() -> list[str]:
        tb = exc.__traceback__
        head = from_cell(tb, filename)
        tbs = shell.InteractiveTB
        if head is None and isinstance(exc, KeyboardInterrupt):
            # a Ctrl-C held while the run closed, raised once it was closed
            return tbs.structured_traceback(type(exc), exc, None, tb_offset=0)
        if head is None:  # not raised in the cell: IPython's own rendering
            return tbs.structured_traceback(type(exc), exc, tb)
        return tbs.structured_traceback(type(exc), exc, head, tb_offset=0)

    try:
        exc._render_traceback_ = render  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # a type with __slots__: shown as usual
        pass
