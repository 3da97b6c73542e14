"""How a Stop or a Pause reaches the training loop: the one place every hook asks.

A *stop point* is a step boundary on the run's thread: an optimizer step (torch,
Keras), a Keras/Lightning/Trainer batch, a boosting round, an ``nbmonitor.log``
call or a printed metric line. Requests (Stop button, ``-> stop`` alerts, tuner
pruning, SIGTERM in a worker) only set flags on the run; at the next stop point
the hook holds while paused, then either raises :class:`StopRun` (:func:`boundary`)
or sets its framework's own stop flag (:func:`honour`, e.g. Keras
``stop_training``, Trainer ``should_training_stop``).

Either way the run records that the request was honoured; a run whose loop ended
on its own after a request nothing honoured is ``finished``, with an event saying
so (:func:`final_status`), never ``stopped``.

The hot path costs one attribute read: ``run.halt`` is true only while a stop or
a pause is pending (see :meth:`nbmonitor.run.Run.pause` / ``request_stop``).
"""
from __future__ import annotations

import threading
from typing import Any

from .hooks import StopRun

_ident = threading.get_ident

NOT_HONOURED = ("stop requested at step {at} was not honoured: the loop gave no stop point "
                "(an optimizer step, a framework batch or round, nbmonitor.log or a printed "
                "metric line) before it ended")


def on_run_thread(run: Any) -> bool:
    """Whether the calling thread is the run's: the background worker's, else the
    one that opened the run (any thread when neither is known)."""
    owner = run.thread_ident if run.thread_ident is not None else run.opened_by
    return owner is None or _ident() == owner


def hold(run: Any) -> None:
    """Wait here while the run is paused (a stop request ends the wait)."""
    while run.paused and not run.stop_requested:
        run.wait_resume()


def honour(run: Any, where: str) -> None:
    """Record that a hook acted on the stop request at ``where`` (its framework
    ends the loop itself: a flag set, a callback returning True)."""
    if not run.stop_honoured:
        run.stop_honoured = where


def raise_stop(run: Any, where: str, why: str = "stopped") -> None:
    """Honour the stop request by raising :class:`StopRun` here."""
    honour(run, where)
    raise StopRun(f"{why} at step {run.step}")


def boundary(run: Any, where: str) -> None:
    """A stop point of a loop no framework hook sees (``nbmonitor.log``, a printed
    metric line): hold while paused, then raise :class:`StopRun` if asked to stop.

    Call it only when ``run.halt`` is true. Nothing happens on another thread
    than the run's, nor while a framework hook owns stopping (``run.stop_owner``:
    it ends its loop its own way), nor once the request was honoured (the cell
    goes on after a Keras ``fit`` or Lightning ``Trainer.fit`` that stopped).
    """
    if not on_run_thread(run) or run.stop_owner is not None:
        return
    hold(run)
    if run.stop_requested and not run.stop_honoured and run.status == "running":
        raise_stop(run, where)


def final_status(run: Any) -> str:
    """``stopped`` when a stop request was honoured, else ``finished`` (recording an
    event when a request came that nothing honoured). For a body that ended
    without an exception."""
    if not run.stop_requested:
        return "finished"
    if run.stop_honoured:
        return "stopped"
    at = next((e.step for e in reversed(run.events) if e.message == "stop requested"),
              run.step)
    run.event("control", NOT_HONOURED.format(at=f"{at:g}"), honoured=False)
    return "finished"


def waiting_note(run: Any) -> str:
    """What the dashboard says while a stop request waits for a stop point."""
    if run.status != "running" or not run.stop_requested:
        return ""
    if run.stop_honoured:
        return "stopping: the loop ends after this step"
    return ("stop requested: waiting for a stop point; the loop has given none yet "
            "(nbmonitor stops at an optimizer step, a framework batch or round, "
            "nbmonitor.log or a printed metric line)")
