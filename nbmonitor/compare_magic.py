"""``%monitor_compare [RUN ...]``: overlay stored runs and tabulate their differences.

It shows the static comparison (PNG, HTML table, text): it needs no kernel, so
it survives a kernel restart, nbconvert's HTML and a terminal. ``--live`` shows the
:class:`CompareWidget` (run picker, charts, table) instead; it freezes to the
snapshot of the picked runs (same colours, same layout) when Freeze is clicked or
the next cell runs, and its widgets are closed, so nothing of them is saved.
"""
from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .env import frontend as detect_frontend
from .store import StoreError, open_store
from .store.meta import notebook_path


def compare(*refs: str, store: Any = None, notebook: str | None = None, last: int = 5,
            static: bool = True, max_points: int = 2000,
            frontend: str | None = None) -> Any:
    """Show the comparison of the runs ``refs`` name (default: the ``last`` recent
    runs of ``notebook``); with ``static=False`` in a kernel with widgets, the live
    widget (returned) until it freezes; else the snapshot (returns None)."""
    from IPython.display import display

    from .compare import bundle, load_curves, pick_runs, run_colors
    st = open_store(store if store is not None else True)
    if st is None:
        raise StoreError("the run store is off (--store off, store=False or "
                         "NBMONITOR_STORE=off); comparing reads stored runs: "
                         "pass --store PATH (store=PATH)")
    runs = pick_runs(st, list(refs), notebook, last)
    if not runs:
        print(f"nbmonitor: no stored runs in {st.path}")
        return None
    curves = load_curves(runs, max_points)
    colors = run_colors(runs)
    if static or (frontend or detect_frontend()) != "widgets":
        display(bundle(runs, curves, colors), raw=True)
        return None
    from .widgets.compare import CompareWidget
    handle = None
    frozen = []

    def freeze(selected: list | None = None) -> None:
        if frozen:
            return
        frozen.append(True)
        _unregister(freeze_on_next_cell)
        picked = widget.selected() if selected is None else selected
        try:
            handle.update(bundle(picked or runs, curves, colors), raw=True)
        finally:
            widget.close()

    def freeze_on_next_cell(*_: Any) -> None:
        freeze()

    from .widgets.unsaved import run_detached
    # Built with no parent message: executors save none of its state.
    widget = run_detached(CompareWidget, runs, curves, on_freeze=freeze)
    view = {"model_id": widget.widget.model_id, "version_major": 2, "version_minor": 0}
    handle = display({"text/plain": "nbmonitor compare (live)",
                      "application/vnd.jupyter.widget-view+json": view},
                     raw=True, display_id=True)
    _register(freeze_on_next_cell)
    return widget


def _register(callback: Any) -> None:
    from IPython import get_ipython
    ip = get_ipython()
    if ip is not None:
        ip.events.register("pre_run_cell", callback)


def _unregister(callback: Any) -> None:
    from IPython import get_ipython
    ip = get_ipython()
    if ip is not None:
        try:
            ip.events.unregister("pre_run_cell", callback)
        except ValueError:
            pass


@magics_class
class CompareMagics(Magics):
    """The ``%monitor_compare`` line magic."""

    @magic_arguments()
    @argument("runs", nargs="*", help="run ids, id prefixes or names "
              "(default: the recent runs of this notebook)")
    @argument("--store", default=None, help="run store file or directory")
    @argument("--last", type=int, default=5, help="how many recent runs (default 5)")
    @argument("--live", action="store_true", help="the live widget (run picker) until "
              "Freeze or the next cell")
    @argument("--static", action="store_true", help="only the static snapshot (default)")
    @argument("--max-points", dest="max_points", type=int, default=2000,
              help="points per curve (default 2000)")
    @line_magic
    def monitor_compare(self, line: str) -> None:
        """Overlay the curves of stored runs and tabulate their hyperparameters and
        final metrics, differences highlighted."""
        try:
            args = parse_argstring(self.monitor_compare, line)
        except UsageError as e:
            raise UsageError(f"{e}\n{self.monitor_compare.parser.format_usage()}") from None
        if args.last < 1 or args.max_points < 10:
            raise UsageError("--last must be at least 1 and --max-points at least 10")
        try:
            compare(*args.runs, store=args.store, last=args.last, static=not args.live,
                    notebook=notebook_path(self.shell.user_ns), max_points=args.max_points)
        except (StoreError, KeyError) as e:
            raise UsageError(str(e).strip("'\"")) from None
