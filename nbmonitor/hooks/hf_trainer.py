"""Hugging Face ``transformers.Trainer`` capture with no code change (and its
subclasses: ``Seq2SeqTrainer``, TRL's trainers).

``Trainer.train`` and a top-level ``Trainer.evaluate`` get a ``TrainerCallback`` for
the duration of the call. What the Trainer logs (``Trainer.log``: the dicts of
``state.log_history``) becomes series at ``state.global_step``:

- ``loss`` -> ``train/loss`` and ``eval_loss`` -> ``val/loss`` (one chart);
- every other ``eval_<name>`` -> ``val/<name>``, ``test_<name>`` -> ``test/<name>``;
- ``learning_rate`` -> ``lr``; ``grad_norm`` and anything else numeric as named;
- the end-of-training summary (``train_runtime``, ``train_loss``, ...) is one event.

The total is ``state.max_steps``; epochs come from ``state.epoch``. Stop sets
``control.should_training_stop`` (the Trainer ends after the current step, its
callbacks and saving finish as usual); Pause holds at the next step start; the lr
knob and queued lr changes act on the Trainer's optimizer (its scheduler rescaled).

While ``train`` runs the run's ``step_owner`` and ``stop_owner`` are
``"transformers"``: the torch hooks record no second loss, count no steps and
raise nothing. Print capture skips the dict lines the Trainer prints meanwhile.

``transformers`` is never imported here: an import watcher patches ``Trainer`` once
the cell imports ``transformers.trainer``.
"""
from __future__ import annotations

import functools
import math
import sys
from typing import Any

from .. import knobs, stops
from . import undo_all
from .keras_hooks import _ImportWatcher, _patch

MODULE = "transformers.trainer"
SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second",
                "total_flos", "train_loss"}
_SKIP = {"epoch", "step"}


def series_name(key: str) -> str:
    """The run's series for a key the Trainer logs."""
    if key == "loss":
        return "train/loss"
    if key == "learning_rate":
        return "lr"
    for prefix, group in (("eval_", "val/"), ("test_", "test/")):
        if key.startswith(prefix):
            return group + key[len(prefix):]
    return key


class _Monitor:
    """The callback's behaviour; :func:`callback_class` mixes in ``TrainerCallback``."""

    def __init__(self, run: Any, base: int, set_total: bool) -> None:
        self.run = run
        self.base = base
        self.set_total = set_total

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        run = self.run
        self.base = max(0, run.step - state.global_step)
        run.hooks_count_steps = True
        run.step = self.base + state.global_step
        if self.set_total and state.max_steps and state.max_steps > 0:
            run.total_steps = self.base + state.max_steps
        if optimizer is not None:
            try:
                run.knobs = knobs.torch_knobs(optimizer)
            except Exception:  # an exotic optimizer: no knobs, training goes on
                run.knobs = {}

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.run.set_epoch(int(math.floor(state.epoch or 0)) + 1)

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        run = self.run
        if run.paused:
            stops.hold(run)
        if optimizer is None:
            return
        # accelerate's AcceleratedOptimizer: its param_groups are the torch optimizer's,
        # and it is what the Trainer's scheduler holds (rescaled with the lr).
        if run._lr_scale is not None:  # queued by Run.scale_lr (alerts)
            run.apply_pending(optimizer)
        if run.has_pending:
            for name, value in run.take_controls().items():
                try:
                    old, new = knobs.apply_torch(optimizer, name, value)
                except Exception as e:  # reported, never raised into the loop
                    print(f"nbmonitor: could not set {name}: {e}", file=sys.stderr)
                    continue
                run.record_control(name, old, new)

    def on_step_end(self, args, state, control, **kwargs):
        run = self.run
        run.step = max(run.step, self.base + state.global_step)
        if run.stop_requested:
            control.should_training_stop = True
            stops.honour(run, "Trainer step")

    def on_log(self, args, state, control, logs=None, **kwargs):
        run = self.run
        step = self.base + state.global_step
        if state.epoch:
            epoch = math.ceil(state.epoch)
            if epoch > run.epoch:
                run.set_epoch(epoch)
        summary = {}
        for key, value in (logs or {}).items():
            if key in _SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key in SUMMARY_KEYS:
                summary[key] = value
                continue
            run.buffer.append(series_name(key), step, float(value))
        if summary:
            run.event("trainer", ", ".join(f"{k} {v:.4g}" for k, v in summary.items()),
                      **summary)


_classes: dict[type, type] = {}


def callback_class(base: type) -> type:
    """The monitor callback class derived from ``base`` (``TrainerCallback``)."""
    if base not in _classes:
        _classes[base] = type("NbmonitorTrainerCallback", (_Monitor, base), {})
    return _classes[base]


class _State:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.active = True
        self.depth = 0
        self.user_total = run.total_steps is not None


def _patch_trainer(st: _State, module: Any, removers: list) -> None:
    from transformers import TrainerCallback
    run = st.run
    Monitor = callback_class(TrainerCallback)
    Trainer = module.Trainer

    def wrap(original: Any, training: bool) -> Any:
        @functools.wraps(original)
        def method(self, *args, **kwargs):
            if st.depth or not st.active:  # evaluate inside train: the callback is there
                return original(self, *args, **kwargs)
            base = max(0, run.step - self.state.global_step)
            callback = Monitor(run, base, set_total=training and not st.user_total)
            self.add_callback(callback)
            owners = run.step_owner, run.stop_owner
            run.step_owner = run.stop_owner = "transformers"
            st.depth += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                st.depth -= 1
                run.step_owner, run.stop_owner = owners
                self.remove_callback(callback)
        return method

    _patch(Trainer, "train", wrap(Trainer.__dict__["train"], True), removers)
    _patch(Trainer, "evaluate", wrap(Trainer.__dict__["evaluate"], False), removers)


class TrainerHandle:
    """Undoes the patches of :func:`install` (or drops its import watcher)."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self._removers: list = []
        self._watcher: _ImportWatcher | None = None

    @property
    def patched(self) -> bool:
        return bool(self._removers)

    def ignore_line(self, line: str) -> bool:
        """For print capture: the log dicts the Trainer prints while it runs."""
        return self.state.depth > 0 and line.lstrip().startswith("{")

    def _patch_now(self) -> None:
        if not self.state.active or self._removers:
            return
        try:
            _patch_trainer(self.state, sys.modules[MODULE], self._removers)
        except Exception as e:  # never break the user's import
            undo_all(self._removers)
            print(f"nbmonitor: Trainer capture is off: {type(e).__name__}: {e}",
                  file=sys.stderr)

    def remove(self) -> None:
        self.state.active = False
        if self._watcher is not None and self._watcher in sys.meta_path:
            sys.meta_path.remove(self._watcher)
        errors = undo_all(self._removers)
        if errors:
            raise errors[0]


def install(run: Any) -> TrainerHandle:
    """Capture ``Trainer.train``/``evaluate`` into ``run``: now if ``transformers.trainer``
    is imported, else once it is."""
    handle = TrainerHandle(_State(run))
    if MODULE in sys.modules:
        handle._patch_now()
    else:
        handle._watcher = _ImportWatcher(MODULE, handle._patch_now)
        sys.meta_path.insert(0, handle._watcher)
    return handle
