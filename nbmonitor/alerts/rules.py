"""The alert rules: value objects that say what to watch, plus ``check``, which
reads a series' new points and returns the hits.

A rule never touches the run: :class:`~nbmonitor.alerts.engine.AlertEngine` hands
it the points it has not seen yet (:class:`Points`) and a per-series ``state``
dict that the rule keeps between calls, and acts on the :class:`Hit` list.
"""
from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..grouping import is_meter
from ..run import lower_is_better
from .terms import Action, Span, fmt_num, fmt_series

@dataclass
class Points:
    """New points of one series: steps, values, wall times, their index in the
    series, and (when the run counts epochs) the epoch of each point."""

    name: str
    steps: np.ndarray
    values: np.ndarray
    times: np.ndarray
    index: np.ndarray
    epochs: np.ndarray | None = None


@dataclass(frozen=True)
class Hit:
    """One firing of a rule on one point."""

    step: float
    time: float
    value: float
    message: str


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Base of every rule: which series (a glob; ``""`` means every metric but the
    meters) and what to do on a hit."""

    series: str = ""
    actions: tuple[Action, ...] = ()

    def matches(self, name: str) -> bool:
        """Whether this rule watches series ``name``."""
        if not self.series:
            return not is_meter(name)
        return fnmatch.fnmatchcase(name, self.series)

    def condition(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, pts: Points, state: dict) -> list[Hit]:  # pragma: no cover
        """Hits among ``pts`` (new points of one series); ``state`` persists."""
        raise NotImplementedError

    def with_actions(self, *actions: Action) -> "Rule":
        """A copy of this rule with ``actions`` added."""
        from dataclasses import replace
        return replace(self, actions=(*self.actions, *actions))

    def __str__(self) -> str:
        acts = [str(a) for a in self.actions if a.kind != "call"]
        return self.condition() + (f" -> {', '.join(acts)}" if acts else "")


def _at(pts: Points, i: int) -> tuple[float, float, float]:
    return float(pts.steps[i]), float(pts.times[i]), float(pts.values[i])


@dataclass(frozen=True, kw_only=True)
class NonFinite(Rule):
    """The first NaN or infinite value of each watched series."""

    def condition(self) -> str:
        return "nan" + (f" {fmt_series(self.series)}" if self.series else "")

    def check(self, pts: Points, state: dict) -> list[Hit]:
        if state.get("seen"):
            return []
        bad = np.flatnonzero(~np.isfinite(pts.values))
        if not len(bad):
            return []
        state["seen"] = True
        step, t, v = _at(pts, int(bad[0]))
        return [Hit(step, t, v, f"{pts.name} is {v} at step {step:g}")]


_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


@dataclass(frozen=True, kw_only=True)
class Threshold(Rule):
    """``value OP limit``, optionally held ``for`` a span; fires once each time the
    condition starts holding (long enough), and re-arms when it stops."""

    op: str
    limit: float
    span: Span | None = None

    def condition(self) -> str:
        cond = f"{fmt_series(self.series)} {self.op} {fmt_num(self.limit)}"
        return cond + (f" for {self.span}" if self.span else "")

    def check(self, pts: Points, state: dict) -> list[Hit]:
        with np.errstate(invalid="ignore"):
            holds = _OPS[self.op](pts.values, self.limit)
        pos = self.span.positions(pts) if self.span else pts.steps
        hits = []
        for i in range(len(holds)):
            if not holds[i]:
                state["since"], state["fired"] = None, False
                continue
            if state.get("since") is None:
                state["since"] = float(pos[i])
            held = float(pos[i]) - state["since"]
            if not state.get("fired") and (self.span is None or held >= self.span.amount):
                state["fired"] = True
                step, t, v = _at(pts, i)
                extra = f" for {Span(held, self.span.unit)}" if self.span else ""
                hits.append(Hit(step, t, v, f"{pts.name} = {v:.6g} {self.op} "
                                f"{fmt_num(self.limit)}{extra} at step {step:g}"))
        return hits


@dataclass(frozen=True, kw_only=True)
class Plateau(Rule):
    """No improvement (below the best minus ``delta`` for ``min``, above the best
    plus ``delta`` for ``max``) for ``span``. ``mode`` None: ``min`` for loss-like
    names (:func:`nbmonitor.run.lower_is_better`), else ``max``. Like
    ReduceLROnPlateau, after firing it waits a whole ``span`` again."""

    span: Span
    mode: str | None = None
    delta: float = 0.0

    def condition(self) -> str:
        mode = f" {self.mode}" if self.mode else ""
        delta = f" delta {fmt_num(self.delta)}" if self.delta else ""
        return f"plateau {fmt_series(self.series)}{mode} {self.span}{delta}"

    def check(self, pts: Points, state: dict) -> list[Hit]:
        lower = (self.mode or ("min" if lower_is_better(pts.name) else "max")) == "min"
        pos = self.span.positions(pts)
        hits = []
        for i, v in enumerate(pts.values):
            if not math.isfinite(v):
                continue
            best = state.get("best")
            if best is None or (v < best - self.delta if lower else v > best + self.delta):
                state["best"], state["ref"] = float(v), float(pos[i])
            elif float(pos[i]) - state["ref"] >= self.span.amount:
                state["ref"] = float(pos[i])
                step, t, v = _at(pts, i)
                hits.append(Hit(step, t, v, f"{pts.name} has not improved on {best:.6g} "
                                f"for {self.span} (now {v:.6g}, step {step:g})"))
        return hits


@dataclass(frozen=True, kw_only=True)
class Divergence(Rule):
    """A value above ``factor`` times the series' running minimum and above its
    first value, once ``warmup`` has passed since that first point; only while the
    minimum is positive. Being worse than at the start is what tells a diverging
    loss from minibatch noise near zero (0.07 is 13x a minimum of 0.005, yet fine).
    Fires once per episode: again only after the value came back under the bound
    *and* a quiet spell has passed, ``warmup`` after the first firing, doubling with
    each firing (so a stationary noisy loss, a GAN's or an RL agent's, that keeps
    crossing the bound fires a handful of times in a run, not on every spike)."""

    factor: float = 10.0
    warmup: Span = field(default_factory=lambda: Span(100.0, "steps"))

    def condition(self) -> str:
        return f"diverge {fmt_series(self.series, True)} x{fmt_num(self.factor)} after {self.warmup}"

    def check(self, pts: Points, state: dict) -> list[Hit]:
        pos = self.warmup.positions(pts)
        hits = []
        for i, v in enumerate(pts.values):
            if not math.isfinite(v):
                continue
            if "start" not in state:
                state["start"], state["min"], state["first"] = float(pos[i]), float(v), float(v)
            low = state["min"]
            warm = float(pos[i]) - state["start"] >= self.warmup.amount
            if warm and low > 0 and v > self.factor * low and v > state["first"]:
                if not state.get("fired") and float(pos[i]) >= state.get("quiet", 0.0):
                    state["fired"] = True
                    fires = state["fires"] = state.get("fires", 0) + 1
                    state["quiet"] = float(pos[i]) + self.warmup.amount * 2 ** (fires - 1)
                    step, t, v = _at(pts, i)
                    hits.append(Hit(step, t, v, f"{pts.name} = {v:.6g} is over "
                                    f"{fmt_num(self.factor)}x its minimum {low:.6g} at "
                                    f"step {step:g} (diverging)"))
            else:
                state["fired"] = False
            state["min"] = min(low, float(v))
        return hits
