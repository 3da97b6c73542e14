"""Whether a click can reach the kernel while a cell runs, and making it so where
the kernel allows.

Facts (ipykernel 7.4, JupyterLab 4.6; see README "Controls while a cell runs"):

- JupyterLab >= 4.4 opens a kernel subshell per comm target (``commsOverSubshells``
  = ``perCommTarget``) once the first widget shows, and sends every ``comm_msg`` of
  that target with that ``subshell_id``. A subshell is a thread with its own loop,
  so it handles messages while the main shell runs a cell.
- ipykernel 7.4 ``Kernel.shell_channel_thread_main`` (kernelbase.py) re-routes a
  ``comm_msg`` to ``comm._reply_subshell_for(data, subshell_id)``, which
  (comm/comm.py ``BaseComm``) returns the subshell of the *last publish* of that
  comm; a widget created and displayed in a normal cell published from the main
  shell, so its clicks wait for the cell to end.
- Giving our control widgets' comms a ``_reply_subshell_for`` that keeps the
  message's own subshell restores the 7.3 behaviour for them: their callbacks run
  live on the subshell thread. They only set flags on the run (thread-safe).
"""
from __future__ import annotations

from typing import Any

NOT_LIVE = ("controls apply after the cell ends here; use %%monitor --background "
            "for live controls")


def _keep_sender_subshell(data: Any, default: Any) -> Any:
    return default


def route_to_sender(widget: Any) -> None:
    """Handle ``widget``'s frontend messages on the subshell that sent them."""
    comm = getattr(widget, "comm", None)
    if comm is not None and hasattr(comm, "_reply_subshell_for"):
        comm._reply_subshell_for = _keep_sender_subshell


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


def kernel_has_subshells() -> bool:
    """Whether this kernel handles subshells (ipykernel >= 7)."""
    kernel = _kernel()
    return bool(kernel is not None and getattr(kernel, "_supports_kernel_subshells", False))


def frontend_uses_subshells() -> bool:
    """Whether a frontend opened a subshell in this kernel (JupyterLab >= 4.4 does,
    for widgets, once the first widget shows)."""
    kernel = _kernel()
    try:
        return bool(kernel.shell_channel_thread.manager.list_subshell())
    except Exception:
        return False


def live_controls(background: bool) -> bool | None:
    """True: clicks are handled while the run trains. False: only after the cell
    ends. None: not known yet (subshells supported, none opened yet)."""
    if background:
        return True
    if not kernel_has_subshells():
        return False
    return True if frontend_uses_subshells() else None
