"""Keras 3 capture with no code change: ``tf.keras`` (TensorFlow >= 2.16, where it is
Keras 3) and Keras on any ``KERAS_BACKEND``.

- ``keras.Model.fit`` appends a :class:`~.keras_callback.MonitorCallback` (per-batch
  metrics, ``val_*`` per epoch, ``lr``, epochs, total steps, stop and pause);
- a top-level ``evaluate()`` appends one that records ``evaluate/<name>``; the
  validation ``evaluate`` inside ``fit`` is left alone;
- the optimizers' ``apply`` (which ``apply_gradients`` calls) counts steps and reads
  the learning rate in eager custom loops (``tf.GradientTape`` + ``apply_gradients``).
  Inside ``fit`` it does nothing (the callback counts), nor inside a ``tf.function``
  (it runs once, at tracing: such loops get their step from ``nbmonitor.log(step=)``
  or a printed ``step``).

While ``fit`` runs the run's ``step_owner`` is ``"keras"``, which tells the torch hooks
(``KERAS_BACKEND=torch`` calls ``loss.backward()``) not to record the loss again.

Keras is never imported here: when it is not imported yet, an import watcher
patches it right after the cell imports it (so ``os.environ["KERAS_BACKEND"]`` set
in the cell still decides the backend).
"""
from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import inspect
import re
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .. import stops
from . import undo_all

_ANSI = re.compile(r"\x1b\[[0-9;]*m|\x08")
_PROGBAR = re.compile(r"^\s*\d+/(?:\d+|Unknown)(?:\s|$)")


def is_progbar_line(line: str) -> bool:
    """Whether a printed line is Keras's progress bar (``12/32 ━━━ 0s 3ms/step - loss: 0.7``).

    Its numbers are the callback's, already recorded: print capture skips them.
    """
    if "/" not in line:
        return False
    clean = _ANSI.sub("", line)
    return (_PROGBAR.match(clean) is not None
            and ("━" in clean or "/step" in clean or "/Unknown" in clean))


class _State:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.active = True
        self.fit_depth = 0
        self.in_apply = False
        self.user_total = run.total_steps is not None
        self.lr: Any = None  # LrSampler for custom loops, made once Keras is in
        self.watch_every: int | None = None  # per-layer weights every N steps (--watch)


def _patch(owner: type, attr: str, new: Callable, removers: list) -> None:
    """Set ``owner.attr``; the remover restores it (or deletes it when inherited)."""
    if attr in owner.__dict__:
        original = owner.__dict__[attr]
        removers.append(lambda: setattr(owner, attr, original))
    else:
        removers.append(lambda: delattr(owner, attr))
    setattr(owner, attr, new)


@contextmanager
def _with_callback(bound: inspect.BoundArguments, callback: Any, model: Any) -> Iterator[None]:
    """Add ``callback`` to the call's ``callbacks`` without touching the user's list."""
    from keras.callbacks import CallbackList
    given = bound.arguments.get("callbacks")
    if isinstance(given, CallbackList):
        callback.set_model(model)
        callback.set_params(given.params)
        given.callbacks.append(callback)
        try:
            yield
        finally:
            if callback in given.callbacks:
                given.callbacks.remove(callback)
    else:
        bound.arguments["callbacks"] = [*(given or ()), callback]
        yield


def _patch_keras(st: _State, removers: list) -> None:
    import keras

    from .keras_callback import EvaluateCallback, LrSampler, MonitorCallback
    run = st.run
    st.lr = LrSampler(run.buffer)
    Model = keras.Model
    orig_fit, orig_evaluate = Model.fit, Model.evaluate
    fit_sig, eval_sig = inspect.signature(orig_fit), inspect.signature(orig_evaluate)

    @functools.wraps(orig_fit)
    def fit(self, *args, **kwargs):
        if st.fit_depth or not st.active:
            return orig_fit(self, *args, **kwargs)
        bound = fit_sig.bind(self, *args, **kwargs)
        callback = MonitorCallback(run, int(bound.arguments.get("initial_epoch") or 0),
                                   set_total=not st.user_total)
        if st.watch_every:
            from .keras_watch import KerasWatch
            callback.watch = KerasWatch(run, st.watch_every)
        owner, run.step_owner = run.step_owner, "keras"
        st.fit_depth += 1
        try:
            with _with_callback(bound, callback, self):
                return orig_fit(*bound.args, **bound.kwargs)
        finally:
            st.fit_depth -= 1
            run.step_owner = owner

    @functools.wraps(orig_evaluate)
    def evaluate(self, *args, **kwargs):
        if st.fit_depth or not st.active:  # fit's validation: val_* come with epoch logs
            return orig_evaluate(self, *args, **kwargs)
        bound = eval_sig.bind(self, *args, **kwargs)
        with _with_callback(bound, EvaluateCallback(run), self):
            return orig_evaluate(*bound.args, **bound.kwargs)

    _patch(Model, "fit", fit, removers)
    _patch(Model, "evaluate", evaluate, removers)
    _patch_optimizer(st, keras, removers)


def _patch_optimizer(st: _State, keras: Any, removers: list) -> None:
    owner = next((c for c in keras.optimizers.Optimizer.__mro__ if "apply" in c.__dict__), None)
    if owner is None:
        return
    orig_apply = owner.__dict__["apply"]
    eager: Callable[[], bool] = lambda: True
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        eager = tf.executing_eagerly
    run = st.run

    @functools.wraps(orig_apply)
    def apply(self, *args, **kwargs):
        if st.fit_depth or st.in_apply or not st.active or not eager():
            return orig_apply(self, *args, **kwargs)
        while run.paused and not run.stop_requested:
            run.wait_resume()
        st.in_apply = True
        try:
            out = orig_apply(self, *args, **kwargs)
        finally:
            st.in_apply = False
        run.step_owner = "keras"
        run.hooks_count_steps = True
        run.step += 1
        st.lr.maybe(self, run.step, force=run.step == 1)
        if run.stop_requested:
            stops.raise_stop(run, "Keras optimizer step")
        return out

    _patch(owner, "apply", apply, removers)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Calls ``then()`` right after the first import of module ``name`` finished."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot, and no recursion below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return None
        inner, then = spec.loader, self.then

        class _After(importlib.abc.Loader):
            def create_module(self, spec):
                return inner.create_module(spec)

            def exec_module(self, module):
                module.__loader__ = module.__spec__.loader = inner
                inner.exec_module(module)
                then()

        spec.loader = _After()
        return spec


class KerasHandle:
    """Undoes the patches of :func:`install` (or drops its import watcher)."""

    ignore_line = staticmethod(is_progbar_line)

    def __init__(self, state: _State) -> None:
        self.state = state
        self._removers: list = []
        self._watcher: _ImportWatcher | None = None

    @property
    def patched(self) -> bool:
        """Whether Keras is patched now."""
        return bool(self._removers)

    def _patch_now(self) -> None:
        if not self.state.active or self._removers:
            return
        try:
            _patch_keras(self.state, self._removers)
        except Exception as e:  # never break the user's import
            for undo in reversed(self._removers):
                undo()
            self._removers = []
            print(f"nbmonitor: Keras capture is off: {type(e).__name__}: {e}", file=sys.stderr)

    def remove(self) -> None:
        self.state.active = False
        if self._watcher is not None and self._watcher in sys.meta_path:
            sys.meta_path.remove(self._watcher)
        errors = undo_all(self._removers)
        if errors:
            raise errors[0]


def install(run: Any, watch_every: int | None = None) -> KerasHandle:
    """Capture Keras training into ``run``: now if Keras is imported, else once it is.
    ``watch_every``: record per-layer weight norms and update ratios every that
    many steps (``--watch``)."""
    state = _State(run)
    state.watch_every = watch_every
    handle = KerasHandle(state)
    if "keras" in sys.modules:
        handle._patch_now()
    else:
        handle._watcher = _ImportWatcher("keras", handle._patch_now)
        sys.meta_path.insert(0, handle._watcher)
    return handle
