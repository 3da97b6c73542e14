"""Background mode: the monitored body trains in a worker thread and the cell
returns at once, so the kernel takes other cells and every control is live.

- The session is entered in the calling (main) thread: the dashboard shows in the
  cell's output, hooks and threads start there.
- The worker runs the body and the session's exit inside a copy of the cell's
  context (``contextvars``): ipykernel takes the parent message of output from
  context variables, so what the worker prints goes to the monitored cell (in
  JupyterLab, under the dashboard) rather than to whichever cell runs now. The
  final snapshot is sent from an empty context (see ``Session._freeze``).
- One background run at a time per kernel; :func:`wait` joins it.
- An exception in the body fails the run (status ``failed``, ``run.error``), shows
  in the dashboard and the frozen output, and its traceback (the user's frames) is
  printed; it is not re-raised anywhere (there is no caller left to catch it).
"""
from __future__ import annotations

import contextvars
import sys
import threading
import traceback
from typing import Any, Callable

from .cell_traceback import without_ours
from .run import Run
from .session import Session, last_run

_lock = threading.Lock()
_worker: threading.Thread | None = None
_session: Session | None = None


class BackgroundBusy(RuntimeError):
    """A background run is still training in this kernel."""


def running() -> Session | None:
    """The session of the background run still training, if any."""
    t = _worker
    return _session if t is not None and t.is_alive() else None


def start(session: Session, body: Callable[[], Any]) -> Run:
    """Enter ``session`` here, run ``body`` and the exit in a worker; return the run."""
    global _worker, _session
    with _lock:
        busy = running()
        if busy is not None:
            raise BackgroundBusy(
                f"background run {busy.run.name!r} is still training; nbmonitor.wait() "
                "for it (or press its Stop button) before starting another")
        session.background = True
        run = session.__enter__()
        ctx = contextvars.copy_context()
        _session = session
        _worker = threading.Thread(target=ctx.run, args=(_work, session, body),
                                   name="nbmonitor-worker", daemon=True)
        _worker.start()
    return run


def _work(session: Session, body: Callable[[], Any]) -> None:
    session.run.thread_ident = threading.get_ident()
    try:
        body()
    except BaseException:
        exc = sys.exc_info()
        try:
            suppressed = session.__exit__(*exc)
        except BaseException:
            suppressed = False
        if not suppressed:
            # the user's frames: the worker's and the magic's own are left out
            traceback.print_exception(exc[0], exc[1], without_ours(exc[2]), file=sys.stderr)
    else:
        session.__exit__(None, None, None)


def wait(timeout: float | None = None, quiet: bool = False) -> Run | None:
    """Wait for the background run to end (at most ``timeout`` s); return it.

    Prints the run's status (and error); re-raises nothing. With no background
    run, returns the last run of this process.
    """
    t, session = _worker, _session
    if t is None or session is None:
        return last_run()
    t.join(timeout)
    run = session.run
    if not quiet and run is not None:
        state = run.status if not t.is_alive() else f"{run.status} (still, after {timeout} s)"
        print(f"nbmonitor: run {run.name!r} {state} at step {run.step:,}"
              + (f": {run.error}" if run.error else ""))
    return run
