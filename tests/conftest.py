"""Shared fixtures: every test must leave no sampler thread behind."""
from __future__ import annotations

import time

import pytest

from nbmonitor.meters import sampler_threads


def wait_no_sampler(timeout: float = 2.0) -> list:
    """Sampler threads still alive after waiting up to ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while sampler_threads() and time.monotonic() < end:
        time.sleep(0.01)
    return sampler_threads()


@pytest.fixture(autouse=True)
def no_leaked_sampler():
    """Fail a test that leaves an ``nbmonitor-sampler`` thread running."""
    yield
    assert wait_no_sampler() == [], "a meter sampler thread outlived its run"
