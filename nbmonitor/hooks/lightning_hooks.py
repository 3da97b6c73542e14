"""PyTorch Lightning capture with no code change.

``Trainer.fit`` (of ``pytorch_lightning`` and of ``lightning.pytorch``, whichever
is imported) gets a callback (:mod:`.lightning_callback`) for the duration of the
call: what the module logs with ``self.log``/``self.log_dict``, training and
validation, becomes series of the run at the global step; the total comes from
``trainer.estimated_stepping_batches``; epochs from ``trainer.current_epoch``.

The torch hooks still count steps and record ``train/loss`` and ``lr``. While
``fit`` runs the run's ``stop_owner`` is ``"lightning"``: a stop request sets
``trainer.should_stop`` at the next batch end, so ``fit`` returns normally (its
loggers and ``on_train_end`` callbacks finish as usual) instead of the torch hooks
raising ``StopRun`` inside ``optimizer.step``. The cell then goes on; the run
ends as ``stopped``.

Lightning is never imported here: when it is not imported yet, an import watcher
patches it right after the cell imports it.

Lightning's own text must not become series through print capture: with ``rich``
installed its model summary (``Total params: 5``) and progress bar (``Epoch 1/2
━━━ 3/8 ... train_loss: 0.41``) are printed on stdout outside Jupyter, so
:meth:`LightningHandle.ignore_line` skips them while ``fit`` runs. (The tqdm bar
and the plain summary go to stderr, which print capture does not read.)
"""
from __future__ import annotations

import functools
import importlib
import re
import sys
from typing import Any

from . import undo_all
from .keras_hooks import _ImportWatcher, _patch

# Top-level module to watch -> module holding ``Trainer`` and ``Callback``.
PACKAGES = {"pytorch_lightning": "pytorch_lightning", "lightning": "lightning.pytorch"}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SUMMARY = re.compile(r"^\s*(?:Trainable params|Non-trainable params|Total params|Total estimated"
                      r" model params size \(MB\)|Modules in (?:train|eval) mode|Total FLOPs):")
_BAR = re.compile(r"^\s*(?:Epoch \d+|Validation|Sanity Checking|Testing|Predicting)\b")


def is_lightning_line(line: str) -> bool:
    """Whether a printed line is Lightning's model summary or progress bar text."""
    clean = _ANSI.sub("", line)
    if _SUMMARY.match(clean):
        return True
    return _BAR.match(clean) is not None and ("━" in clean or "it/s" in clean or "%|" in clean)


class _State:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.active = True
        self.fit_depth = 0
        self.user_total = run.total_steps is not None


def _patch_trainer(st: _State, module: Any, removers: list) -> None:
    from .lightning_callback import callback_class
    run = st.run
    Trainer = module.Trainer
    Monitor = callback_class(module.Callback)
    orig_fit = Trainer.fit

    @functools.wraps(orig_fit)
    def fit(self, *args, **kwargs):
        if st.fit_depth or not st.active:
            return orig_fit(self, *args, **kwargs)
        callback = Monitor(run, set_total=not st.user_total)
        self.callbacks.append(callback)
        owner, run.stop_owner = run.stop_owner, "lightning"
        st.fit_depth += 1
        try:
            return orig_fit(self, *args, **kwargs)
        finally:
            st.fit_depth -= 1
            run.stop_owner = owner
            # Lightning may have rebuilt the list (model callbacks): look in the current one.
            self.callbacks[:] = [c for c in self.callbacks if c is not callback]

    _patch(Trainer, "fit", fit, removers)


class LightningHandle:
    """Undoes the patches of :func:`install` (or drops its import watchers)."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self._removers: list = []
        self._watchers: list[_ImportWatcher] = []
        self.patched: set[str] = set()  # top-level names whose Trainer is patched

    def ignore_line(self, line: str) -> bool:
        """For print capture: Lightning's own text, while ``fit`` runs."""
        return self.state.fit_depth > 0 and is_lightning_line(line)

    def _patch_now(self, name: str) -> None:
        if not self.state.active or name in self.patched:
            return
        removers: list = []
        try:
            _patch_trainer(self.state, importlib.import_module(PACKAGES[name]), removers)
        except Exception as e:  # never break the user's import
            undo_all(removers)
            print(f"nbmonitor: Lightning capture is off: {type(e).__name__}: {e}",
                  file=sys.stderr)
            return
        self._removers += removers
        self.patched.add(name)

    def remove(self) -> None:
        self.state.active = False
        for watcher in self._watchers:
            if watcher in sys.meta_path:
                sys.meta_path.remove(watcher)
        self._watchers = []
        errors = undo_all(self._removers)
        self.patched.clear()
        if errors:
            raise errors[0]


def install(run: Any) -> LightningHandle:
    """Capture ``Trainer.fit`` into ``run``: now for each Lightning package already
    imported, else once the cell imports it."""
    handle = LightningHandle(_State(run))
    for name in PACKAGES:
        if name in sys.modules:
            handle._patch_now(name)
        else:
            watcher = _ImportWatcher(name, functools.partial(handle._patch_now, name))
            handle._watchers.append(watcher)
            sys.meta_path.insert(0, watcher)
    return handle
