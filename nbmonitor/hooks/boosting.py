"""What the XGBoost and LightGBM hooks share: a ``train`` function wrapped in every
module that holds it (``xgboost.train`` is also ``xgboost.training.train`` and the
one ``XGBModel.fit`` calls), a callback added to the call's ``callbacks``, rounds
as steps, and the import watcher that patches once the cell imports the framework.

Each round is a step: ``step = steps before the call + rounds done in it``, so the
last round of ``num_boost_round`` lands on the total. While ``train`` runs the
run's ``step_owner`` and ``stop_owner`` name the framework: a Stop ends training
after the current round (the framework's own way), and print capture skips the
eval lines the framework prints (``[N]<tab>...``).
"""
from __future__ import annotations

import functools
import inspect
import re
import sys
from typing import Any, Callable

from .. import stops
from . import undo_all
from .keras_hooks import _ImportWatcher

_EVAL_LINE = re.compile(r"^\s*\[\d+\]\t")


class Rounds:
    """The part of a boosting callback that touches the run: one call per round."""

    def __init__(self, run: Any, framework: str, set_total: bool) -> None:
        self.run = run
        self.framework = framework
        self.base = run.step
        self.done = 0
        self.set_total = set_total

    def begin(self, total: int | None) -> None:
        """Before the first round: ``total`` rounds (the run's total unless the user
        gave one)."""
        self.run.hooks_count_steps = True
        if self.set_total and total and total > 0:
            self.run.total_steps = self.base + int(total)

    def round(self, metrics: list[tuple[str, float]]) -> bool:
        """Record one round's metrics; True when training should stop now."""
        run = self.run
        self.done += 1
        step = self.base + self.done
        run.step = max(run.step, step)
        append = run.buffer.append
        for name, value in metrics:
            append(name, step, float(value))
        if run.paused:
            stops.hold(run)
        if run.stop_requested:
            stops.honour(run, f"{self.framework} round")
            return True
        return False


class BoostState:
    def __init__(self, run: Any, framework: str) -> None:
        self.run = run
        self.framework = framework
        self.active = True
        self.depth = 0
        self.user_total = run.total_steps is not None


def wrap_train(st: BoostState, original: Callable,
               make_callback: Callable[[Rounds, inspect.BoundArguments], Any]) -> Callable:
    """``original`` with ``make_callback(rounds, bound)`` appended to its callbacks."""
    sig = inspect.signature(original)

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        if st.depth or not st.active:
            return original(*args, **kwargs)
        run = st.run
        bound = sig.bind(*args, **kwargs)
        rounds = Rounds(run, st.framework, set_total=not st.user_total)
        given = bound.arguments.get("callbacks")
        bound.arguments["callbacks"] = [*(given or ()), make_callback(rounds, bound)]
        owners = run.step_owner, run.stop_owner
        run.step_owner = run.stop_owner = st.framework
        st.depth += 1
        try:
            return original(*bound.args, **bound.kwargs)
        finally:
            st.depth -= 1
            run.step_owner, run.stop_owner = owners

    return train


def patch_everywhere(original: Callable, new: Callable, modules: list[str],
                     removers: list) -> None:
    """Replace ``train`` in each of ``modules`` that holds ``original``."""
    for name in modules:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "train", None) is original:
            setattr(module, "train", new)
            removers.append(functools.partial(setattr, module, "train", original))


class BoostHandle:
    """Undoes the patches (or drops the import watcher) of one framework's hook."""

    def __init__(self, state: BoostState, patch: Callable[[BoostState, list], None]) -> None:
        self.state = state
        self._patch = patch
        self._removers: list = []
        self._watcher: _ImportWatcher | None = None

    @property
    def patched(self) -> bool:
        return bool(self._removers)

    def ignore_line(self, line: str) -> bool:
        """For print capture: the eval lines the framework prints while it trains."""
        return self.state.depth > 0 and _EVAL_LINE.match(line) is not None

    def patch_now(self) -> None:
        if not self.state.active or self._removers:
            return
        try:
            self._patch(self.state, self._removers)
        except Exception as e:  # never break the user's import
            undo_all(self._removers)
            print(f"nbmonitor: {self.state.framework} capture is off: "
                  f"{type(e).__name__}: {e}", file=sys.stderr)

    def remove(self) -> None:
        self.state.active = False
        if self._watcher is not None and self._watcher in sys.meta_path:
            sys.meta_path.remove(self._watcher)
        errors = undo_all(self._removers)
        if errors:
            raise errors[0]


def install(run: Any, framework: str, module: str,
            patch: Callable[[BoostState, list], None]) -> BoostHandle:
    """Patch now if ``module`` is imported, else once the cell imports it."""
    handle = BoostHandle(BoostState(run, framework), patch)
    if module in sys.modules:
        handle.patch_now()
    else:
        handle._watcher = _ImportWatcher(module, handle.patch_now)
        sys.meta_path.insert(0, handle._watcher)
    return handle
