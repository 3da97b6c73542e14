"""``%%monitor``: parses its line and delegates to :class:`Session`. Nothing else."""
from __future__ import annotations

import json

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split

from .cell_traceback import compile_cell, show_from_cell
from .names import short
from .session import Session
from .store import StoreError, open_for_run


def parse_hparams(text: str | None) -> dict:
    """``lr=0.1,batch=64`` or a JSON object."""
    if not text:
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"--hparams: not valid JSON: {e}") from None
        except RecursionError:
            raise UsageError("--hparams: JSON nested too deeply") from None
        if not isinstance(value, dict):
            raise UsageError("--hparams: expected a JSON object")
        return value
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--hparams: expected key=value, got {short(part, 60)!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            out[key.strip()] = raw.strip()
    return out


def _usage(magic) -> str:
    """``usage: %%monitor [--name NAME] ...`` and a pointer to the full help."""
    text = magic.parser.format_usage().replace("::", "").strip()
    text = text.replace("%monitor", "%%monitor", 1)
    return f"usage: {text}\n(%%monitor? shows every option)"


@magics_class
class MonitorMagics(Magics):
    """The ``%%monitor`` cell magic."""

    @magic_arguments()
    @argument("--name", "-n", default=None, help="run name (default run-N)")
    @argument("--no-print-capture", dest="print_capture", action="store_false",
              help="do not read metrics from printed text")
    @argument("--total-steps", dest="total_steps", type=int, default=None,
              help="total optimizer steps, for progress and ETA")
    @argument("--epochs", type=int, default=None,
              help="number of epochs, when the cell does not say range(N)")
    @argument("--keep-live", dest="keep_live", action="store_true",
              help="keep the interactive widget after the run ends")
    @argument("--stop-on-nan", dest="stop_on_nan", action="store_true",
              help="stop the run at the first NaN/Inf metric")
    @argument("--refresh-hz", dest="refresh_hz", type=float, default=4.0,
              help="dashboard refreshes per second (default 4)")
    @argument("--max-points", dest="max_points", type=int, default=2000,
              help="points per series sent to a chart (default 2000)")
    @argument("--sample-every", dest="sample_every", type=float, default=1.0,
              metavar="SECONDS", help="seconds between GPU/CPU/RAM readings (default 1)")
    @argument("--no-meters", dest="meters", action="store_false",
              help="do not read GPU/CPU/RAM meters")
    @argument("--hparams", default=None, help="hyperparameters: k=v,k=v or JSON")
    @argument("--store", default=None,
              help="run store file or directory (default .nbmonitor/runs.db; off: none)")
    @argument("--alert", dest="alerts", action="append", default=None, metavar="RULE",
              help='an alert rule, repeatable: "val/loss > 2 -> stop", '
                   '"plateau val/loss 5 epochs -> lr*0.5" (see nbmonitor.alerts)')
    @argument("--no-default-alerts", dest="default_alerts", action="store_false",
              help="no default alerts (NaN, divergence, GPU memory > 95%%)")
    @argument("--compare-last", dest="compare_last", action="store_true",
              help="draw the previous run of this cell faintly behind the live curves")
    @argument("--background", action="store_true",
              help="train in a worker thread: the cell returns at once, controls are "
                   "live, nbmonitor.wait() joins")
    @argument("--accumulation", choices=("sum", "mean"), default=None,
              help="several losses per optimizer step: record their sum or mean "
                   "(default: detected, see the run's events)")
    @argument("--watch", nargs="?", const="on", choices=("on", "off"), default=None,
              help="per-layer gradient/weight norms and update ratios every "
                   "--watch-every steps; 'off': not even the global gradient norm")
    @argument("--watch-every", dest="watch_every", type=int, default=50, metavar="N",
              help="steps between per-layer statistics with --watch (default 50)")
    @cell_magic
    def monitor(self, line: str, cell: str) -> None:
        """Run the cell with a live training dashboard in its output."""
        try:
            # posix splitting, so that quotes group words and are removed:
            # --name "my run" gives ``my run``, not ``"my run"``.
            args = self.monitor.parser.parse_args(arg_split(line, posix=True))
            options = vars(args)
            options["hparams"] = parse_hparams(options["hparams"])
            session = Session(source=cell, namespace=self.shell.user_ns, **options)
        except (UsageError, ValueError, TypeError) as e:
            raise UsageError(f"{e}\n{_usage(self.monitor)}") from None
        try:  # a foreign or corrupt store file stops the cell before it runs
            session.store = open_for_run(options["store"]) or False
        except StoreError as e:
            raise UsageError(str(e)) from None
        # A traceback shows the user's frames as "Cell In[N], line L", from the
        # cell's own frame on (see nbmonitor.cell_traceback).
        code, name = compile_cell(self.shell, f"%%monitor {line}", cell)
        __tracebackhide__ = True  # noqa: F841  (IPython hides this frame)
        if session.background:
            from . import background
            try:
                background.start(session, lambda: exec(code, self.shell.user_ns))
            except RuntimeError as e:  # another run is active
                raise UsageError(str(e)) from None
            return
        try:
            with session:
                exec(code, self.shell.user_ns)
        except (Exception, KeyboardInterrupt) as e:  # shown from the cell's frame on
            show_from_cell(e, name, self.shell)
            raise

    @magic_arguments()
    @argument("--name", "-n", default=None, help="run name (default: the model's class)")
    @argument("--serve", type=int, default=None, metavar="PORT",
              help="serve /metrics and /monitor on 127.0.0.1:PORT while the cell runs")
    @argument("--window", type=int, default=1000, help="drift window in rows (default 1000)")
    @argument("--store", default=None, help="run store file or directory (off: none)")
    @argument("--alert", dest="alerts", action="append", default=None, metavar="RULE",
              help='an alert rule, repeatable: "quality/accuracy < 0.8"')
    @cell_magic
    def monitor_inference(self, line: str, cell: str) -> None:
        """Watch every inference call of the models the cell uses (see nbmonitor.serving)."""
        try:
            args = self.monitor_inference.parser.parse_args(arg_split(line, posix=True))
            from .serving import require
            require()
        except (UsageError, ValueError, ImportError) as e:
            raise UsageError(str(e)) from None
        from .serving.cell import CellWatch
        code, name = compile_cell(self.shell, f"%%monitor_inference {line}", cell)
        __tracebackhide__ = True  # noqa: F841  (IPython hides this frame)
        try:
            with CellWatch(source=cell, namespace=self.shell.user_ns, **vars(args)):
                exec(code, self.shell.user_ns)
        except (Exception, KeyboardInterrupt) as e:  # shown from the cell's frame on
            show_from_cell(e, name, self.shell)
            raise


def load_ipython_extension(ipython) -> None:
    """``%load_ext nbmonitor``."""
    from .compare_magic import CompareMagics
    ipython.register_magics(MonitorMagics)
    ipython.register_magics(CompareMagics)
