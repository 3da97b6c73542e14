"""Axis domains and round ticks shared by the live charts and the snapshot."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nbmonitor.style import metric_color, run_color, series_colors
from nbmonitor.ticks import (is_constant, linear_ticks, log_ticks, padded, tick_format,
                             wants_log)


def one_two_five(step: float) -> bool:
    mant = step / 10 ** math.floor(math.log10(step))
    return any(abs(mant - m) < 1e-9 for m in (1, 2, 5, 10))


@pytest.mark.parametrize("lo,hi", [(0.141, 0.725), (0, 25_000), (1e-5, 0.05), (-3, 7),
                                   (0.5, 0.5), (3, 3), (0.999, 1.001)])
def test_linear_ticks_are_round_and_inside(lo, hi):
    a, b = padded(lo, hi)
    assert b > a  # a width even for a single value
    ticks = linear_ticks(a, b, 4)
    assert 3 <= len(ticks) <= 8
    assert all(a <= t <= b for t in ticks)
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and one_two_five(steps[0])
    labels = [format(t, tick_format(ticks)[1:].replace("~", "")) for t in ticks] \
        if tick_format(ticks).startswith(".") else []
    assert len(set(labels)) == len(labels)  # enough decimals to tell ticks apart


@pytest.mark.parametrize("lo,hi", [(0.004, 0.8), (1e-5, 0.05), (0.2, 3), (0.3, 0.7), (1e-6, 1e3)])
def test_log_ticks_have_at_least_three_labels(lo, hi):
    a, b = padded(lo, hi, log=True)
    ticks = log_ticks(a, b)
    assert 3 <= len(ticks) <= 7 and all(a <= t <= b for t in ticks)


def test_scale_choice_and_constants():
    assert wants_log(np.array([10.0, 1e-3])) and not wants_log(np.array([1.0, 0.5]))
    assert not wants_log(np.array([1.0, -1.0, 1e-5]))
    assert is_constant(np.array([0.1, 0.1, 0.1])) and not is_constant(np.array([0.1]))
    assert not is_constant(np.array([0.1, 0.2]))


def test_colours_follow_the_metric_not_the_order():
    assert metric_color("loss") == metric_color("train/loss") == run_color(0)
    assert metric_color("val_loss") == metric_color("val/accuracy") == run_color(1)
    assert metric_color("test_loss") == run_color(2)
    a = series_colors(["val_loss", "loss"])
    b = series_colors(["loss", "val_loss"])
    assert a == b and len(set(a.values())) == 2
    assert len(set(series_colors(["loss", "lr", "x"]).values())) == 3  # no two alike
