"""``python -m nbmonitor.worker STUDY``: run trials of a tuner's study from another
process or machine.

The study (made by :class:`nbmonitor.Tuner` in a notebook or a script) holds what a
worker needs: the search space, the objective and, when the training function is
importable, its ``module:function`` (``--target`` otherwise). Every trial is a
monitored run with the text frontend, recorded in the run store the worker is
pointed at (``--store``, else ``NBMONITOR_STORE`` or ``.nbmonitor/runs.db``), and
carries the trial user attr ``worker`` = ``hostname:pid``. The tuner's widget
shows the worker's trials as they report. SIGTERM ends the sweep after the current
step (the trial is recorded as stopped); Ctrl-C as well, then exits.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Sequence

METHODS = ("grid", "random", "tpe")


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m nbmonitor.worker``."""
    p = argparse.ArgumentParser(
        prog="python -m nbmonitor.worker",
        description="Run trials of an nbmonitor.Tuner study from this process.")
    p.add_argument("study", help="the study name (the Tuner's study_name)")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL (default: tuning.db beside the run store)")
    p.add_argument("--n-trials", type=int, default=10, help="trials to run (default 10)")
    p.add_argument("--target", default=None,
                   help="module:function to train with (default: the one the study records)")
    p.add_argument("--method", choices=METHODS, default=None,
                   help="sampler (default: the tuner's last sweep method, else tpe)")
    p.add_argument("--pruning", action=argparse.BooleanOptionalAction, default=None,
                   help="median pruning (default: as the tuner's last sweep)")
    p.add_argument("--store", default=None, help="run store file or directory")
    p.add_argument("--no-meters", action="store_true", help="no CPU/GPU meters")
    p.add_argument("--seed", type=int, default=None, help="sampler seed (default: random)")
    return p


def build(args: argparse.Namespace) -> Any:
    """The Tuner the worker runs, from the study's recipe and ``args``."""
    from .tuning.tuner import Tuner
    session: dict[str, Any] = {"frontend": "text"}
    if args.store is not None:
        session["store"] = args.store
    if args.no_meters:
        session["meters"] = False
    return Tuner.from_study(args.study, args.storage, args.target, session=session)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; returns the exit status (2 for a bad command or study)."""
    p = parser()
    args = p.parse_args(argv)
    if args.n_trials < 1:
        p.error("--n-trials must be at least 1")
    try:
        tuner = build(args)
    except (ValueError, ImportError, AttributeError, TypeError) as e:
        p.error(str(e))  # exits with status 2
    from .tuning.share import load, worker_id
    recorded = load(tuner.study) or {}
    method = args.method or recorded.get("method", "tpe")
    pruning = recorded.get("pruning", True) if args.pruning is None else args.pruning
    previous = _on_sigterm(tuner)
    print(f"nbmonitor worker {worker_id()}: {args.n_trials} {method} trials of study "
          f"{args.study!r} in {tuner.storage_url}", flush=True)
    try:
        tuner.sweep(method, n_trials=args.n_trials, pruning=pruning, seed=args.seed)
    except KeyboardInterrupt:
        print("nbmonitor worker: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    df = tuner.results
    mine = [t.number for t in tuner.study.get_trials(deepcopy=False)
            if t.user_attrs.get("worker") == worker_id()]
    counts = df[df["trial"].isin(mine)]["status"].value_counts().to_dict()
    print(f"nbmonitor worker {worker_id()}: trials {mine}: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()), flush=True)
    return 0


def _on_sigterm(tuner: Any) -> Any:
    """SIGTERM stops the sweep after the current step (main thread only)."""
    try:
        return signal.signal(signal.SIGTERM, lambda signum, frame: tuner.stop())
    except ValueError:  # not the main thread
        return None


if __name__ == "__main__":
    sys.exit(main())
