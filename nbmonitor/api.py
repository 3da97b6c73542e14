"""The public functions: ``monitor``, ``log``, ``config``, ``current_run``."""
from __future__ import annotations

import math
import warnings
from typing import Any

from .run import Run
from .session import Session, active_session, last_run


def monitor(name: str | None = None, **options: Any) -> Session:
    """Monitor a block of code: ``with nbmonitor.monitor(name="baseline"):``.

    Options are those of ``%%monitor`` with ``_`` for ``-``: ``print_capture``,
    ``total_steps``, ``epochs``, ``keep_live``, ``stop_on_nan``, ``refresh_hz``,
    ``max_points``, ``hparams``, ``sample_every`` (seconds between meter readings)
    and ``meters`` (False: no GPU/CPU/RAM meters). In a Jupyter kernel it shows the
    live dashboard; elsewhere a text progress line on stderr.
    """
    return Session(name, **options)


def current_run() -> Run | None:
    """The run being monitored now, or None."""
    s = active_session()
    return s.run if s is not None else None


_warned = False


def _scalar(value: Any, run: Run, name: str, step: float | None) -> float | None:
    """A float for ``value``; device tensors go to the run's asynchronous sink."""
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    device = getattr(value, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu" and run.device_sink:
        run.device_sink(name, run.step if step is None else step, value)
        return None
    raise TypeError(f"nbmonitor.log: {name}={value!r} is not a number")


def log(step: float | None = None, **metrics: Any) -> None:
    """Record metrics in the current run: ``nbmonitor.log(val_loss=0.3, acc=0.9)``.

    ``step`` defaults to the global step when hooks count optimizer steps, else to
    each series' own index. Values may be numbers, numpy scalars or 0-d tensors
    (CUDA tensors are read asynchronously, with no synchronization).
    """
    s = active_session()
    if s is None:
        global _warned
        if not _warned:
            _warned = True
            warnings.warn("nbmonitor.log called with no monitored run; values are dropped. "
                          "Use %%monitor or `with nbmonitor.monitor():`.", stacklevel=2)
        return
    run = s.run
    for name, value in metrics.items():
        if value.__class__ is not float:
            value = _scalar(value, run, name, step)
            if value is None:
                continue
        run.log_auto(name, value, step)


def config(**hparams: Any) -> dict[str, Any]:
    """Record hyperparameters of the current run (and return them all)."""
    s = active_session()
    if s is None:
        raise RuntimeError("nbmonitor.config needs a monitored run (%%monitor or monitor())")
    for k, v in hparams.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        s.run.hparams[k] = v
    return dict(s.run.hparams)
