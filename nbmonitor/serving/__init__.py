"""Watching a model in use: latency, errors, output statistics, drift and quality
of every call, live in the notebook and on a Prometheus endpoint.

Needs the ``serve`` extra (``pip install nbmonitor[serve]``: prometheus_client,
scipy, scikit-learn, ddsketch); ``import nbmonitor`` does not.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Callable

NEEDS = {"prometheus_client": "prometheus_client", "scipy": "scipy", "sklearn": "scikit-learn",
         "ddsketch": "ddsketch"}


def require() -> None:
    """Raise ImportError with the install hint when a package of the extra is missing."""
    missing = [pkg for mod, pkg in NEEDS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ImportError(f"nbmonitor inference monitoring needs {', '.join(missing)}: "
                          "pip install nbmonitor[serve]")


def inference(model: Callable[..., Any], name: str | None = None, **options: Any) -> Any:
    """Wrap ``model`` (a torch/Keras model or any callable) so every call is watched:
    ``mon = nbmonitor.inference(model, name="clf", reference=X_val)``.

    ``mon(x)`` returns exactly what ``model(x)`` returns (exceptions propagate
    unchanged, counted by type). Options: ``reference`` (inputs to compare the
    live ones with, rows x features; the model's outputs on it are the output
    reference; without it the first window is), ``window`` (rows, 1,000),
    ``task`` (``"auto"``, ``"classification"``, ``"regression"``), ``output``
    (a function picking the numbers out of what the model returns, e.g.
    ``lambda out: out.logits``), ``alerts`` (more rule strings, e.g.
    ``"quality/accuracy < 0.8"``), ``drift_alerts`` (False: no default
    ``drift/psi/* > 0.2`` and ``drift/ks_p/* < 0.01`` rules), ``store``,
    ``refresh_hz``, ``latency_window_s`` (60), ``quality_window`` (10,000 rows).

    ``mon.feedback(y_true[, y_pred])`` gives labels; ``mon.serve(port)`` serves
    ``/metrics`` and ``/monitor``; ``mon.summary()`` is the JSON summary;
    ``mon.close()`` ends the run (and frees the port). Shown in a notebook, the
    monitor is a live panel, frozen to a static snapshot by ``close()``.
    """
    require()
    from .monitor import InferenceMonitor
    return InferenceMonitor(model, name, **options)


def serve(port: int = 9109, host: str = "127.0.0.1") -> Any:
    """Serve the current training run's last values as gauges on ``/metrics``
    (``nbmonitor_run_value{run, series}``) and as JSON on ``/monitor``."""
    require()
    from .endpoint import serve_training
    return serve_training(port, host)


__all__ = ["inference", "require", "serve"]
