"""A search space from a training function's signature and explicit ranges.

``Tuner(train, lr=LogUniform(1e-5, 1e-1), batch_size=[32, 64], dropout=(0.0, 0.5))``:
a ``(lo, hi)`` tuple is a uniform range (an integer one when both ends are ints), a
list is a choice (``[False, True]`` for a flag); every other parameter keeps its default (or the value a control or ``run()`` gives) and is not
searched. Plain data: nothing here imports Optuna until :meth:`Param.distribution`.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np


class Param:
    """One hyperparameter: a default, a way to check a value, an Optuna distribution."""

    name: str = ""
    default: Any = None
    searched = True

    def check(self, value: Any) -> Any:
        """``value`` if allowed, else ValueError with a message naming the range."""
        return value

    def distribution(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def grid(self) -> list[Any]:
        """The values a grid search tries."""
        raise NotImplementedError


@dataclass
class Uniform(Param):
    """A float drawn uniformly in ``[low, high]``; a grid tries ``grid_points`` values."""

    low: float
    high: float
    grid_points: int = 3
    log = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"range ends must be finite numbers, got {self.low}, {self.high}")
        if self.low >= self.high:
            raise ValueError(f"min >= max in range ({self.low}, {self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")

    def check(self, value: Any) -> float:
        v = float(value)
        if not self.low <= v <= self.high:
            raise ValueError(f"{self.name}={value!r} is outside [{self.low}, {self.high}]")
        return v

    def distribution(self) -> Any:
        from optuna.distributions import FloatDistribution
        return FloatDistribution(self.low, self.high, log=self.log)

    def grid(self) -> list[float]:
        space = np.geomspace if self.log else np.linspace
        return [float(v) for v in space(self.low, self.high, self.grid_points)]


@dataclass
class LogUniform(Uniform):
    """A positive float drawn uniformly in log space (learning rates)."""

    log = True


@dataclass
class IntRange(Param):
    """An integer in ``[low, high]`` (inclusive), optionally every ``step``."""

    low: int
    high: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.low >= self.high:
            raise ValueError(f"min >= max in range ({self.low}, {self.high})")

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"{self.name}={value!r} is not an integer")
        if not self.low <= int(value) <= self.high:
            raise ValueError(f"{self.name}={value!r} is outside [{self.low}, {self.high}]")
        return int(value)

    def distribution(self) -> Any:
        from optuna.distributions import IntDistribution
        return IntDistribution(self.low, self.high, step=self.step)

    def grid(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


@dataclass
class Choice(Param):
    """One of a list of values (numbers, strings, bools, None)."""

    choices: Sequence[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.choices = list(self.choices)
        if not self.choices:
            raise ValueError("a choice needs at least one value")

    def check(self, value: Any) -> Any:
        if value not in self.choices:
            raise ValueError(f"{self.name}={value!r} is not one of {self.choices}")
        return value

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution
        return CategoricalDistribution(self.choices)

    def grid(self) -> list[Any]:
        return list(self.choices)


@dataclass
class Fixed(Param):
    """A parameter with a default and no range: set by hand, never searched."""

    value: Any = None
    searched = False

    def check(self, value: Any) -> Any:
        return value


def as_param(spec: Any) -> Param:
    """A :class:`Param` from what a user wrote: a Param, ``(lo, hi)`` or a list."""
    if isinstance(spec, Param):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = spec
        if all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
            return IntRange(lo, hi)
        return Uniform(float(lo), float(hi))
    if isinstance(spec, (list, range)):
        return Choice(list(spec))
    raise TypeError(f"a range is a (low, high) tuple, a list of choices or a Param such as "
                    f"LogUniform(1e-5, 1e-1); got {spec!r}")


def build_space(fn: Callable[..., Any], ranges: dict[str, Any]) -> dict[str, Param]:
    """Every keyword parameter of ``fn`` as a :class:`Param`, in signature order.

    Raises ValueError for a range naming no parameter of ``fn`` and for a
    parameter with neither a default nor a range.
    """
    sig = inspect.signature(fn)
    names = [n for n, p in sig.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(ranges) - set(names))
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown}: "
                         f"{fn.__name__}() takes {names}")
    space: dict[str, Param] = {}
    for name in names:
        default = sig.parameters[name].default
        if name in ranges:
            param = as_param(ranges[name])
        elif default is inspect.Parameter.empty:
            raise ValueError(f"{fn.__name__}() parameter {name!r} has no default and no range")
        else:
            param = Fixed(value=default)
        param.name = name
        if default is inspect.Parameter.empty or not _fits(param, default):
            default = _middle(param)
        param.default = default
        space[name] = param
    return space


def _fits(param: Param, value: Any) -> bool:
    try:
        param.check(value)
        return True
    except (TypeError, ValueError):
        return False


def _middle(param: Param) -> Any:
    """A default for a range whose function default is missing or outside it."""
    if isinstance(param, Choice):
        return param.choices[0]
    if isinstance(param, IntRange):
        return param.low + (param.high - param.low) // 2 // param.step * param.step
    if isinstance(param, Uniform):
        if param.log:
            return float(math.sqrt(param.low * param.high))
        return (param.low + param.high) / 2
    return getattr(param, "value", None)
