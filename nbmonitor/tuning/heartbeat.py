"""Heartbeats of the trials a process runs, and the failing of trials whose process died.

Optuna drives heartbeats only inside ``study.optimize``; the tuner uses ask/tell, so
it runs them itself. While a sweep runs, one thread (``nbmonitor-heartbeat``) every
quarter of the storage's ``heartbeat_interval``:

- records the heartbeat of the trial this process is running, if any;
- fails the study's trials whose heartbeat is older than the grace period (their
  process was killed, or its machine lost), which runs the storage's
  ``failed_trial_callback`` (a retry, with ``retry_failed``).

With a grace period of ``interval + max(1, interval // 2)`` seconds and a check
every ``interval / 4``, a trial whose worker is SIGKILLed is marked failed within
two intervals of its last heartbeat, wherever the other live processes are in their
own trials; a live trial would need a stall of 1.5 intervals to be taken for dead.
"""
from __future__ import annotations

import sys
import threading
import warnings
from typing import Any

HEARTBEAT_S = 10  # default heartbeat interval of workers and notebooks, seconds


def grace_period(interval: int) -> int:
    """Seconds without a heartbeat after which a running trial is failed."""
    return interval + max(1, interval // 2)


def quiet_optuna() -> None:
    """Optuna warns that heartbeats are experimental and meant for ``optimize``;
    here they are the point (they run outside ``optimize`` on purpose)."""
    warnings.filterwarnings("ignore", message=r".*(heartbeat|fail_stale_trials|"
                            r"RetryFailedTrialCallback|failed_trial_callback).*")
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def interval_of(study: Any) -> int | None:
    """The study storage's heartbeat interval, None when heartbeats are off (or the
    storage has none: in-memory, journal, or an Optuna that moved them)."""
    storage = getattr(study, "_storage", None)
    get = getattr(storage, "get_heartbeat_interval", None)
    if get is None:
        return None
    try:
        interval = get()
    except Exception:
        return None
    return interval if isinstance(interval, int) and interval > 0 else None


class Heartbeat:
    """``with Heartbeat(study):`` around a sweep; ``beat_for(trial)`` names the
    trial being run (None between trials). A no-op when heartbeats are off."""

    def __init__(self, study: Any) -> None:
        self.study = study
        self.interval = interval_of(study)
        self._trial_id: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported = False

    def __enter__(self) -> "Heartbeat":
        if self.interval is not None:
            self.reap()  # trials of processes that died before this one started
            self._thread = threading.Thread(target=self._loop, name="nbmonitor-heartbeat",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def beat_for(self, trial: Any | None) -> None:
        """Start (a trial) or stop (None) recording heartbeats; the first at once."""
        self._trial_id = None if trial is None else getattr(trial, "_trial_id", None)
        if self._trial_id is not None and self.interval is not None:
            self._beat(self._trial_id)

    def _beat(self, trial_id: int) -> None:
        try:
            self.study._storage.record_heartbeat(trial_id)
        except Exception as e:  # the database is away: say so once, training goes on
            self._report("recording a heartbeat", e)

    def reap(self) -> None:
        """Fail the running trials whose heartbeat is too old (and retry them)."""
        from optuna.storages import fail_stale_trials
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fail_stale_trials(self.study)
        except Exception as e:
            self._report("failing stale trials", e)

    def _loop(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval / 4):
            trial_id = self._trial_id
            if trial_id is not None:
                self._beat(trial_id)
            self.reap()

    def _report(self, what: str, e: BaseException) -> None:
        if not self._reported:
            self._reported = True
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            print(f"nbmonitor tuner: {what} failed ({type(e).__name__}: {first}); "
                  "retrying", file=sys.stderr)
