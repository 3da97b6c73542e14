"""The words of the rule language: units, spans, actions, and how numbers and
series names are written back as text."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .rules import Points

UNIT_NAMES = {"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
              "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
              "h": "h", "hour": "h", "hours": "h",
              "step": "steps", "steps": "steps", "epoch": "epochs", "epochs": "epochs"}
SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PLAIN_NAME = re.compile(r"[A-Za-z_*?][\w./*?\[\]:]*")
KEYWORDS = {"plateau", "diverge", "divergence", "nan", "nonfinite", "non-finite", "for",
            "after", "min", "max", "delta"}


def fmt_num(x: float) -> str:
    """Shortest text that reads back as exactly ``x`` (``2`` not ``2.0``)."""
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def fmt_series(name: str, after_diverge: bool = False) -> str:
    """A series name as a rule writes it (quoted when it needs to be; after
    ``diverge``, also names that read as a factor: ``x``, ``x10``)."""
    factor_like = after_diverge and re.match(r"x(?:$|[\d.+-])", name)
    if _PLAIN_NAME.fullmatch(name) and name.lower() not in KEYWORDS and not factor_like:
        return name
    return f"'{name}'" if "'" not in name else f'"{name}"'


@dataclass(frozen=True)
class Span:
    """A length of time (``s``, seconds), of steps, or of epochs."""

    amount: float
    unit: str  # "s" | "steps" | "epochs"

    def __str__(self) -> str:
        return f"{fmt_num(self.amount)}s" if self.unit == "s" else f"{fmt_num(self.amount)} {self.unit}"

    def positions(self, pts: "Points") -> np.ndarray:
        """Where each point lies along this span's unit."""
        if self.unit == "s":
            return pts.times
        if self.unit == "epochs":
            return pts.epochs if pts.epochs is not None else pts.index.astype(float)
        return pts.steps


@dataclass(frozen=True)
class Action:
    """What to do on a hit: ``show``, ``stop``, ``lr`` (scale by ``factor``) or
    ``call`` (``fn(alert)``)."""

    kind: str
    factor: float | None = None
    fn: Callable[[Any], Any] | None = None

    def __str__(self) -> str:
        if self.kind == "lr":
            return f"lr*{fmt_num(self.factor)}"
        if self.kind == "call":
            return f"call {getattr(self.fn, '__qualname__', repr(self.fn))}"
        return self.kind
