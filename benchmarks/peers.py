"""The tools users would otherwise pick, behind one tiny interface.

``open_logger(name, tmp)`` returns a :class:`Logger`: ``log(step, value)`` records
one scalar called ``loss`` the way that tool's docs say to, ``close()`` ends the run
(flushing what the tool buffers). Every tool writes only under ``tmp`` and never
touches the network: wandb offline, MLflow on a local SQLite file, aim with its
repository in ``tmp``, trackio with ``TRACKIO_DIR`` in ``tmp``, TensorBoard through
``torch.utils.tensorboard``. ``PEERS`` maps each name to the distribution whose
version the results report; ``available(name)`` says whether it imports.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from typing import Callable

# name -> (distribution, importable module)
PEERS = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow-skinny", "mlflow"),
    "trackio": ("trackio", "trackio"),
    "aim": ("aim", "aim"),
    "livelossplot": ("livelossplot", "livelossplot"),
}
CALLS = {
    "tensorboard": "SummaryWriter.add_scalar",
    "wandb": "wandb.log (offline)",
    "mlflow": "mlflow.log_metric (local SQLite)",
    "trackio": "trackio.log (local)",
    "aim": "Run.track",
    "livelossplot": "PlotLosses.update",
    "livelossplot+send": "PlotLosses.update + send (redraw)",
}


@dataclass
class Logger:
    log: Callable[[int, float], None]
    close: Callable[[], None]


def version(name: str) -> str | None:
    """Installed version of peer ``name`` (or of any distribution), None if absent."""
    dist = PEERS.get(name, (name,))[0]
    for d in (dist, "mlflow") if name == "mlflow" else (dist,):
        try:
            return importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def available(name: str) -> bool:
    name = name.split("+")[0]
    return importlib.util.find_spec(PEERS[name][1]) is not None


def _tensorboard(tmp: str) -> Logger:
    from torch.utils.tensorboard import SummaryWriter
    w = SummaryWriter(log_dir=os.path.join(tmp, "tb"))
    return Logger(lambda step, v: w.add_scalar("loss", v, step), w.close)


def _wandb(tmp: str) -> Logger:
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=tmp,
                      WANDB_CACHE_DIR=tmp, WANDB_CONFIG_DIR=tmp, WANDB_DATA_DIR=tmp,
                      WANDB_CONSOLE="off", WANDB_DISABLE_GIT="true")
    import wandb
    run = wandb.init(project="bench", dir=tmp, mode="offline",
                     settings=wandb.Settings(console="off", x_disable_stats=True,
                                             x_disable_meta=True))
    return Logger(lambda step, v: run.log({"loss": v}, step=step), run.finish)


def _mlflow(tmp: str) -> Logger:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(tmp, 'mlflow.db')}")
    mlflow.start_run()
    return Logger(lambda step, v: mlflow.log_metric("loss", v, step=step), mlflow.end_run)


def _trackio(tmp: str) -> Logger:
    os.environ["TRACKIO_DIR"] = os.path.join(tmp, "trackio")
    import trackio
    trackio.init(project="bench", embed=False, auto_log_gpu=False, auto_log_cpu=False)
    return Logger(lambda step, v: trackio.log({"loss": v}, step=step), trackio.finish)


def _aim(tmp: str) -> Logger:
    from aim import Repo, Run
    path = os.path.join(tmp, "aim")
    Repo.from_path(path, init=True)
    run = Run(repo=path, experiment="bench", system_tracking_interval=None,
              log_system_params=False, capture_terminal_logs=False)
    return Logger(lambda step, v: run.track(v, name="loss", step=step), run.close)


def _livelossplot(tmp: str, send: bool = False) -> Logger:
    import matplotlib
    matplotlib.use("Agg")
    from livelossplot import PlotLosses
    from livelossplot.outputs import MatplotlibPlot
    plots = PlotLosses(outputs=[MatplotlibPlot()])
    if not send:
        return Logger(lambda step, v: plots.update({"loss": v}, current_step=step),
                      lambda: None)

    def log(step: int, v: float) -> None:
        plots.update({"loss": v}, current_step=step)
        plots.send()
    return Logger(log, lambda: None)


_OPEN = {"tensorboard": _tensorboard, "wandb": _wandb, "mlflow": _mlflow,
         "trackio": _trackio, "aim": _aim, "livelossplot": _livelossplot,
         "livelossplot+send": lambda tmp: _livelossplot(tmp, send=True)}


def open_logger(name: str, tmp: str) -> Logger:
    """A logger of peer ``name`` writing under ``tmp``."""
    return _OPEN[name](tmp)
