"""The search space from a function's signature and explicit ranges; bad input."""
import subprocess
import sys

import pytest

from nbmonitor.tuning import Choice, Fixed, IntRange, LogUniform, Uniform, build_space


def train(lr=1e-3, batch_size=64, dropout=0.1, optimizer="adam", epochs=3, amp=False):
    pass


def test_space_from_signature_and_ranges():
    space = build_space(train, {"lr": LogUniform(1e-5, 1e-1), "batch_size": [32, 64, 128],
                                "dropout": (0.0, 0.5), "epochs": (1, 5)})
    assert list(space) == ["lr", "batch_size", "dropout", "optimizer", "epochs", "amp"]
    assert isinstance(space["lr"], LogUniform) and space["lr"].log
    assert isinstance(space["batch_size"], Choice) and space["batch_size"].choices == [32, 64, 128]
    assert type(space["dropout"]) is Uniform and (space["dropout"].low, space["dropout"].high) == (0, 0.5)
    assert isinstance(space["epochs"], IntRange)
    assert isinstance(space["optimizer"], Fixed) and not space["optimizer"].searched
    assert space["amp"].default is False and not space["amp"].searched
    assert {n: p.default for n, p in space.items()} == {
        "lr": 1e-3, "batch_size": 64, "dropout": 0.1, "optimizer": "adam", "epochs": 3,
        "amp": False}
    assert space["lr"].grid() == pytest.approx([1e-5, 1e-3, 1e-1])
    assert space["epochs"].grid() == [1, 2, 3, 4, 5]


def test_default_outside_range_is_replaced():
    space = build_space(train, {"lr": LogUniform(1e-2, 1.0), "batch_size": [8, 16]})
    assert space["lr"].default == pytest.approx(0.1)
    assert space["batch_size"].default == 8


@pytest.mark.parametrize("ranges, message", [
    ({"dropout": (0.5, 0.5)}, "min >= max"),
    ({"dropout": (0.6, 0.1)}, "min >= max"),
    ({"momentum": (0.0, 1.0)}, "unknown hyperparameter"),
    ({"batch_size": []}, "at least one"),
    ({"lr": "fast"}, "a range is"),
])
def test_bad_ranges(ranges, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build_space(train, ranges)


def test_log_range_needs_positive_low():
    with pytest.raises(ValueError, match="log range needs low > 0"):
        LogUniform(0.0, 1.0)


def test_no_default_and_no_range():
    def f(x, lr=0.1):
        pass
    with pytest.raises(ValueError, match="'x' has no default"):
        build_space(f, {})


def test_value_checks():
    assert Uniform(0.0, 1.0).check(0.5) == 0.5
    p = IntRange(1, 4)
    p.name = "layers"
    with pytest.raises(ValueError, match=r"layers=9 is outside \[1, 4\]"):
        p.check(9)
    with pytest.raises(ValueError, match="not one of"):
        Choice(["a", "b"]).check("c")


def test_import_needs_no_optuna_and_hint_without_it():
    code = ("import sys, nbmonitor; nbmonitor.LogUniform(1e-3, 1e-1); "
            "assert 'optuna' not in sys.modules, 'optuna imported'; "
            "sys.modules['optuna'] = None\n"
            "try:\n    nbmonitor.Tuner\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install nbmonitor[tune]" in out.stdout
