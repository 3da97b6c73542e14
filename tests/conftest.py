"""Shared fixtures. Every test must leave no hook installed and no thread running."""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time

import pytest

os.environ.setdefault("NBMONITOR_FRONTEND", "text")
# Runs of the suite (kernels included, they inherit it) go to a throwaway store.
os.environ.setdefault("NBMONITOR_STORE", os.path.join(tempfile.mkdtemp(prefix="nbm-store-"),
                                                      "runs.db"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def leftovers() -> list[str]:
    """What a finished run could have left behind in this process."""
    found = []
    from nbmonitor import session
    from nbmonitor.hooks.printed import MetricTee
    if session.active_session() is not None:
        found.append("an active session")
    if isinstance(sys.stdout, MetricTee):
        found.append("sys.stdout is still a MetricTee")
    if "torch" in sys.modules:
        import torch
        import torch.optim.optimizer as opt
        if hasattr(torch.Tensor.backward, "__wrapped__"):
            found.append("torch.Tensor.backward is still wrapped")
        if opt._global_optimizer_post_hooks or opt._global_optimizer_pre_hooks:
            found.append("global optimizer hooks remain")
    deadline = time.time() + 5
    while True:
        threads = [t.name for t in threading.enumerate() if t.name.startswith("nbmonitor")]
        if not threads or time.time() > deadline:
            break
        time.sleep(0.05)
    found += [f"thread {t} still running" for t in threads]
    return found


@pytest.fixture(autouse=True)
def no_leftovers():
    yield
    left = leftovers()
    assert not left, f"test left behind: {left}"
