"""Alerts: rules watched on a run's new points, and what to do when one fires.

On by default (``default_alerts=False`` / ``--no-default-alerts`` turns them off)::

    nan                                   a NaN/inf in any metric, at its own step
                                          (-> stop with stop_on_nan / --stop-on-nan)
    diverge *loss* x10 after 100 steps    a loss above 10x its running minimum
                                          and above its first value
    gpu*/mem_pct > 95                     GPU memory (used / total) above 95%
    grad/norm <= 0 for 50 steps           no gradient reaches the weights (a detached graph)
    grad/norm/* <= 0 for 200 steps        a dead layer (with --watch; per-layer norms)

More from ``%%monitor --alert RULE`` (repeatable), ``monitor(alerts=[...])`` or
``nbmonitor.alert(RULE, action=...)``.

Grammar (words are case-insensitive; ``[]`` optional, ``|`` or)::

    RULE      := CONDITION [ "->" ACTION { "," ACTION } ]
    CONDITION := SERIES OP NUMBER [ "for" SPAN ]                  threshold
               | "plateau" SERIES [ "min" | "max" ] [ "for" ] SPAN [ "delta" NUMBER ]
               | "diverge" [ SERIES ] [ "x" FACTOR ] [ "after" SPAN ]
               | "nan" [ SERIES ]
    OP        := ">" | ">=" | "<" | "<="
    SPAN      := NUMBER UNIT        (``60s``, ``60 s``, ``2m``, ``100 steps``, ``5 epochs``)
    UNIT      := s | m | h | steps | epochs            (and sec, min, hour, step, epoch...)
    ACTION    := "show" | "stop" | "lr*" FACTOR        (``lr * 0.5`` too)
    SERIES    := a series name or a glob (``val/loss``, ``gpu*/util``, ``*loss*``);
                 quote names with spaces or odd characters: ``'Avg loss' > 1``

Examples: ``val/loss > 2.0 -> stop``; ``gpu0/util < 20 for 60s``;
``plateau val/loss 5 epochs -> lr*0.5``; ``plateau val/acc max 3 epochs delta 0.001``;
``diverge train/loss x5 after 200 steps -> stop``.

Meaning:

- every alert is shown (banner and chart marker in the dashboard, an ``alert``
  event at its step, listed and marked in the frozen snapshot); ``stop`` ends the
  run at the next step; ``lr*F`` multiplies the real optimizer's learning rate
  (torch param groups, Keras ``optimizer.learning_rate``) at the next step, on
  the training thread; ``nbmonitor.on_alert(fn)`` calls ``fn(alert)`` for all.
- a threshold fires once when the condition starts to hold (held for the whole
  SPAN when ``for`` is given; a point that breaks it restarts the count), and
  again only after it stopped holding. Seconds are measured on the points' wall
  times; steps on their steps.
- ``plateau``: no value better than the best so far (by more than ``delta``) for
  SPAN; better is lower for loss-like names (``nbmonitor.run.lower_is_better``),
  else higher, unless ``min``/``max`` says. It fires again after another SPAN
  without improvement (like ReduceLROnPlateau).
- epochs: the run's epoch counter (a point at step s belongs to the epoch that
  started before s); with no epoch counter, each point of the series is an epoch.
- ``diverge``: a value above FACTOR (default 10) times the running minimum of the
  series and above its first value, once SPAN (default 100 steps) passed since its
  first point, while that minimum is positive. Without SERIES it watches ``*loss*``.
- ``nan`` without SERIES watches every metric (not the meters); once per series.
- ``gpu{i}/mem_pct`` is a virtual series: 100 * ``gpu{i}/mem_used`` / ``mem_total``.

A malformed rule raises :class:`AlertSyntaxError` (a ``ValueError``) with a caret
under the bad part; ``%%monitor`` then prints usage and does not run the cell.
"""
from __future__ import annotations

from typing import Any, Callable

from .engine import Alert, AlertEngine
from .grammar import AlertSyntaxError, parse_actions, parse_rule
from .rules import Divergence, NonFinite, Plateau, Rule, Threshold
from .terms import Action, Span

__all__ = ["Action", "Alert", "AlertEngine", "AlertSyntaxError", "Divergence", "NonFinite",
           "Plateau", "Rule", "Span", "Threshold", "as_rule", "default_rules", "parse_rule",
           "registered_handlers", "registered_rules"]

DEFAULT_RULES = ("nan", "diverge *loss* x10 after 100 steps", "gpu*/mem_pct > 95",
                 "grad/norm <= 0 for 50 steps", "grad/norm/* <= 0 for 200 steps")

# Rules and functions registered with nbmonitor.alert / nbmonitor.on_alert: they
# apply to every later run of the process (and to the one running now).
registered_rules: list[Rule] = []
registered_handlers: list[Callable[[Alert], Any]] = []


def default_rules(stop_on_nan: bool = False) -> list[Rule]:
    """The rules on by default; the NaN rule stops the run with ``stop_on_nan``."""
    rules = [parse_rule(text) for text in DEFAULT_RULES]
    if stop_on_nan:
        rules[0] = rules[0].with_actions(Action("stop"))
    return rules


def as_rule(rule: "str | Rule", action: Any = None) -> Rule:
    """A :class:`Rule` from text or a rule, with ``action`` added: ``"stop"``,
    ``"lr*0.5"``, ``"stop, lr*0.5"``, a callable (called with the :class:`Alert`),
    or a list of those."""
    if isinstance(rule, Rule):
        out = rule
    else:
        out = parse_rule(rule)
    if action is None:
        return out
    for a in action if isinstance(action, (list, tuple)) else [action]:
        if callable(a):
            out = out.with_actions(Action("call", fn=a))
        elif isinstance(a, str):
            out = out.with_actions(*parse_actions(a, 0))
        else:
            raise TypeError(f"an alert action is a string or a function, not {a!r}")
    return out
