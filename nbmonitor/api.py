"""The public functions: ``monitor``, ``log``, ``config``, ``current_run``, ``wait``,
``alert``, ``on_alert``, ``clear_alerts``."""
from __future__ import annotations

import math
from time import time as _time
import warnings
from typing import Any, Callable

from . import checks as _checks
from .buffer import _GIL, STAGE
from .run import Run

_EXACT = 1 << 53  # ints beyond are stored as the nearest float, converted here
_STEP = 1 << 62  # steps within this are taken as they are; others go through checks
_isfinite = math.isfinite

_STAGE3 = 3 * STAGE
from . import session as _session
from . import stops as _stops
from .session import Session, active_session, last_run


def monitor(name: str | None = None, **options: Any) -> Session:
    """Monitor a block of code: ``with nbmonitor.monitor(name="baseline"):``.

    Options are those of ``%%monitor`` with ``_`` for ``-``: ``print_capture``,
    ``total_steps``, ``epochs``, ``keep_live``, ``stop_on_nan``, ``refresh_hz``,
    ``max_points``, ``hparams``, ``sample_every`` (seconds between meter readings)
    ``meters`` (False: no GPU/CPU/RAM meters), ``alerts`` (rule strings, see
    :mod:`nbmonitor.alerts`) and ``default_alerts`` (False: no NaN, divergence and
    GPU-memory alerts), ``accumulation`` (``"sum"``/``"mean"``: how several losses
    of one optimizer step combine; default detected), ``watch`` (True: per-layer
    gradient/weight norms and update ratios every ``watch_every`` steps, default
    50; False: not even the global ``grad/norm``). In a Jupyter kernel it shows the live dashboard; elsewhere
    a text progress line on stderr.
    """
    from .checks import keywords
    keywords("nbmonitor.monitor", options, _session_options())
    return Session(name, **options)


def _session_options() -> list[str]:
    import inspect
    return [p for p in inspect.signature(Session).parameters if p != "name"]


def wait(timeout: float | None = None) -> Run | None:
    """Wait for the background run (``%%monitor --background``) to end; return it.

    Prints its status; never re-raises the body's exception (see ``run.error``).
    """
    from . import background
    return background.wait(timeout)


def current_run() -> Run | None:
    """The run being monitored now, or None."""
    s = active_session()
    return s.run if s is not None else None


_warned = False


def _scalar(value: Any, run: Run, name: str, step: float | None) -> float | None:
    """A float for ``value``; device tensors go to the run's asynchronous sink."""
    if type(value) is not float and run.device_sink:
        # float() of a CUDA tensor would synchronize: send it to the sink first
        device = getattr(value, "device", None)
        if device is not None and getattr(device, "type", "cpu") != "cpu":
            run.device_sink(name, run.step if step is None else step, value)
            return None
    try:
        return float(value)
    except OverflowError:
        from .checks import too_big
        raise too_big(name, value) from None
    except (TypeError, ValueError):
        pass
    raise TypeError(f"nbmonitor.log: {name}={value!r} is not a number")


def log(step: float | None = None, **metrics: Any) -> None:
    """Record metrics in the current run: ``nbmonitor.log(val_loss=0.3, acc=0.9)``.

    ``step`` defaults to the global step when hooks count optimizer steps (or an
    earlier call gave a step), else to each series' own index. Values may be
    numbers, numpy scalars or 0-d tensors (CUDA tensors are read asynchronously,
    with no synchronization).

    Each call is a stop point: after a Stop request it records its values, then
    raises :class:`nbmonitor.hooks.StopRun` (which ends the monitored block as
    ``stopped``); while paused it holds here.
    """
    s = _session._active
    if s is None:
        _warn_no_run()
        return
    run = s.run
    now = _time()
    if step is None:
        if run.hooks_count_steps or run.explicit_steps:
            step = run.step
    elif (step.__class__ is float or step.__class__ is int) and -_STEP < step < _STEP:
        if not run.hooks_count_steps:
            run.explicit_steps = True
            if step > run.step:
                run.step = int(step)
    else:  # inf, NaN, 2**63, a tensor...: checked off the common path
        step = _checks.step(step)
        if not run.hooks_count_steps:
            run.explicit_steps = True
            _checks.advance(run, step)
    series = run.buffer._series
    nan_stop = run.stop_on_nan
    if not _GIL:  # pragma: no cover - free-threaded builds take the locked path
        for name, value in metrics.items():
            run.log_auto(name, float(value), step, now)
        if run.halt:
            _stops.boundary(run, "nbmonitor.log")
        return
    for name, value in metrics.items():
        cls = value.__class__
        if cls is not float and (cls is not int or not -_EXACT < value < _EXACT):
            value = _scalar(value, run, name, step)  # 10**400 raises, 2**60 -> float
            if value is None:
                continue
        ser = series.get(name)
        if ser is None:
            ser = run.buffer.series(_checks.metric_name(name))
        # Series.append inlined: this is the per-scalar hot path (see buffer.py).
        stage = ser._stage
        if step is None:  # the series' own index
            i = ser._spilled + len(stage) // 3
            stage.extend((i, value, now))
            if i > run.step:
                run.step = i
        else:
            stage.extend((step, value, now))
        if len(stage) >= _STAGE3:
            ser._spill()
        if nan_stop and not _isfinite(value):
            run.stop_at_nan(name, step if step is not None else run.step)
    if run.halt:  # a Stop or Pause waits: this call is a stop point (see nbmonitor.stops)
        _stops.boundary(run, "nbmonitor.log")


def _warn_no_run() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("nbmonitor.log called with no monitored run; values are dropped. "
                      "Use %%monitor or `with nbmonitor.monitor():`.", stacklevel=3)


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


def alert(rule: Any, action: Any = None) -> Any:
    """Watch ``rule`` in this run (if one is active) and every later run of the
    process: ``nbmonitor.alert("val/loss > 2", action="stop")``.

    ``rule`` is rule text (see :mod:`nbmonitor.alerts`; it may carry its own
    ``-> actions``) or a :class:`nbmonitor.alerts.Rule`; ``action`` adds
    ``"stop"``, ``"lr*0.5"``, a function called with the
    :class:`nbmonitor.alerts.Alert`, or a list of those. Returns the rule; a
    malformed one raises :class:`nbmonitor.alerts.AlertSyntaxError`.
    """
    from .alerts import as_rule, registered_rules
    out = as_rule(rule, action)
    registered_rules.append(out)
    s = active_session()
    if s is not None and s.alerts is not None:
        s.alerts.add(out)
    return out


def on_alert(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Call ``fn(alert)`` for every alert of this and later runs (usable as a
    decorator). A function that raises is disabled for the run, with a message."""
    from .alerts import registered_handlers
    if not callable(fn):
        raise TypeError("nbmonitor.on_alert takes a function")
    registered_handlers.append(fn)
    return fn


def clear_alerts() -> None:
    """Forget the rules and functions given to :func:`alert` and :func:`on_alert`
    (the default alerts stay; turn them off with ``default_alerts=False``)."""
    from .alerts import registered_handlers, registered_rules
    registered_rules.clear()
    registered_handlers.clear()
