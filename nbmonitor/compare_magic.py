"""``%monitor_compare [RUN ...]``: overlay stored runs and tabulate their differences.

In a kernel with widgets it shows the live :class:`CompareWidget` (run picker,
charts, table). Its display also carries the static snapshot (PNG, HTML table,
text) as fallbacks, so a notebook saved without widget state, nbconvert's HTML
and a terminal still show the comparison; the Freeze button replaces the widget
by the snapshot of the picked runs for good. ``--static`` shows only the snapshot.
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
            static: bool = False, max_points: int = 2000,
            frontend: str | None = None) -> Any:
    """Show the comparison of the runs ``refs`` name (default: the ``last`` recent
    runs of ``notebook``); returns the widget, or None when static."""
    from IPython.display import display

    from .compare import bundle, load_curves, pick_runs
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
    data = bundle(runs, curves)
    if static or (frontend or detect_frontend()) != "widgets":
        display(data, raw=True)
        return None
    from .widgets.compare import CompareWidget
    handle = None

    def freeze(selected: list) -> None:
        widget.close()
        handle.update(bundle(selected, curves) if selected else data, raw=True)

    widget = CompareWidget(runs, curves, on_freeze=freeze)
    view = {"model_id": widget.widget.model_id, "version_major": 2, "version_minor": 0}
    handle = display({**data, "application/vnd.jupyter.widget-view+json": view},
                     raw=True, display_id=True)
    return widget


@magics_class
class CompareMagics(Magics):
    """The ``%monitor_compare`` line magic."""

    @magic_arguments()
    @argument("runs", nargs="*", help="run ids, id prefixes or names "
              "(default: the recent runs of this notebook)")
    @argument("--store", default=None, help="run store file or directory")
    @argument("--last", type=int, default=5, help="how many recent runs (default 5)")
    @argument("--static", action="store_true", help="only the static snapshot")
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
            compare(*args.runs, store=args.store, last=args.last, static=args.static,
                    notebook=notebook_path(self.shell.user_ns), max_points=args.max_points)
        except (StoreError, KeyError) as e:
            raise UsageError(str(e).strip("'\"")) from None
