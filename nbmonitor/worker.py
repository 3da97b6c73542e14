"""``python -m nbmonitor.worker STUDY``: run trials of a tuner's study from another
process or machine.

The study (made by :class:`nbmonitor.Tuner` in a notebook or a script) holds what a
worker needs: the search space, the objective, the fixed values. The training
function is ``--target module:function``; the one the study names is imported only
with ``--trust-study`` (importing runs code: see :mod:`nbmonitor.tuning.share`).
Every trial is a monitored run with the text frontend, recorded in the run store
the worker is pointed at (``--store``: a file, or a ``postgresql://`` URL such as
the study's own database; else ``NBMONITOR_STORE`` or ``.nbmonitor/runs.db``), and
carries the trial user attrs ``worker`` = ``hostname:pid`` and ``store``, so a
notebook that can open that store draws the trial's whole curve. On a database
storage each trial sends a heartbeat every ``--heartbeat`` seconds; a trial whose
worker died is marked failed within two intervals (and queued again up to
``--retry-failed`` times). SIGTERM ends the sweep after the current step (the
trial is recorded as stopped); Ctrl-C as well, then exits.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Sequence

METHODS = ("grid", "random", "tpe")
HEARTBEAT_S = 10  # as nbmonitor.tuning.heartbeat.HEARTBEAT_S (not imported: fast --help)


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
                   help="module:function to train with")
    p.add_argument("--trust-study", action="store_true",
                   help="without --target, import the function the study names (runs "
                        "code chosen by whoever can write to the study's database)")
    p.add_argument("--method", choices=METHODS, default=None,
                   help="sampler (default: the tuner's last sweep method, else tpe)")
    p.add_argument("--pruning", action=argparse.BooleanOptionalAction, default=None,
                   help="median pruning (default: as the tuner's last sweep)")
    p.add_argument("--store", default=None, help="run store file or directory")
    p.add_argument("--no-meters", action="store_true", help="no CPU/GPU meters")
    p.add_argument("--seed", type=int, default=None, help="sampler seed (default: random)")
    p.add_argument("--heartbeat", type=int, default=HEARTBEAT_S, metavar="SECONDS",
                   help=f"heartbeat interval of a running trial (default {HEARTBEAT_S}; "
                        "0: off)")
    p.add_argument("--retry-failed", type=int, default=0, metavar="N",
                   help="queue a trial whose worker died again, up to N times (default 0)")
    return p


def build(args: argparse.Namespace) -> Any:
    """The Tuner the worker runs, from the study's recipe and ``args``."""
    from .store import open_store
    from .tuning.tuner import Tuner
    session: dict[str, Any] = {"frontend": "text"}
    if args.store is not None:
        session["store"] = args.store
    open_store(args.store)  # a store the worker cannot use fails here, before any trial
    if args.no_meters:
        session["meters"] = False
    return Tuner.from_study(args.study, args.storage, args.target,
                            trust_study=args.trust_study, session=session,
                            heartbeat=args.heartbeat or None, retry_failed=args.retry_failed)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; returns the exit status (2 for a bad command or study)."""
    p = parser()
    args = p.parse_args(argv)
    if args.n_trials < 1:
        p.error("--n-trials must be at least 1")
    if not 0 <= args.heartbeat <= 3600:
        p.error("--heartbeat must be 0 (off) to 3600 seconds")
    if not 0 <= args.retry_failed <= 1000:
        p.error("--retry-failed must be 0 to 1000")
    from .store import StoreError
    try:
        tuner = build(args)
    except (ValueError, ImportError, AttributeError, TypeError, StoreError, OSError) as e:
        p.error(str(e))  # exits with status 2
    from .tuning.share import load, worker_id
    recorded = load(tuner.study) or {}
    method = args.method or recorded.get("method", "tpe")
    pruning = recorded.get("pruning", True) if args.pruning is None else args.pruning
    previous = _on_sigterm(tuner)
    from .store.postgres import safe_url
    print(f"nbmonitor worker {worker_id()}: {args.n_trials} {method} trials of study "
          f"{args.study!r} in {safe_url(tuner.storage_url or '')}", flush=True)
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
