"""Widget traffic that an executed notebook does not keep.

nbclient (hence ``jupyter nbconvert --execute`` and papermill) records the state of
every widget whose messages carry the executing cell's request as parent, and never
forgets a closed one: a frozen dashboard left ~80 KB of dead widget state in the
``.ipynb`` and in its HTML export. JupyterLab shows widget messages whatever their
parent. So the dashboard's widgets are created and updated with an empty parent
header: executors save nothing of them, the browser draws them live as before, and
the frozen output (sent with the cell's parent) is all that stays.

With no parent header a comm records no publishing subshell, so ipykernel 7.4 also
handles clicks on these widgets on the subshell that sent them (what
:mod:`.routing` does for them explicitly; tests/test_kernel_comms.py switches both
off to see the kernel alone).

ipykernel >= 7 resolves a message's parent from a context variable, which can be
set for one context only; on older kernels :func:`detached` returns None and
widgets are saved as before (still closed at the end).
"""
from __future__ import annotations

import contextvars
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _parent_var() -> contextvars.ContextVar | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    var = getattr(kernel, "_shell_parent", None)
    return var if isinstance(var, contextvars.ContextVar) else None


def detached() -> contextvars.Context | None:
    """A copy of the current context whose kernel messages have no parent, or None
    when this kernel cannot do that (or there is no kernel)."""
    var = _parent_var()
    if var is None:
        return None
    ctx = contextvars.copy_context()
    ctx.run(var.set, {})
    return ctx


def run_detached(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` with parent-less widget messages where possible."""
    ctx = detached()
    return fn(*args, **kwargs) if ctx is None else ctx.run(fn, *args, **kwargs)
