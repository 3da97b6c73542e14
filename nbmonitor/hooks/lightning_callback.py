"""The Lightning callback that :mod:`nbmonitor.hooks.lightning_hooks` adds to
``Trainer.fit``: what the module logs with ``self.log``/``self.log_dict`` becomes
series of the run. Lightning is never imported here: :func:`callback_class` is
given the ``Callback`` base of whichever package (``pytorch_lightning`` or
``lightning.pytorch``) the user imported.

Values are read from ``trainer.callback_metrics``, the values Lightning hands every
callback (epoch means already reduced, and synchronized across processes where
``sync_dist`` asks). That dict keeps every name ever logged, so
:class:`FreshMetrics` keeps only values logged since the last read: each read
returns a new ``detach()`` of the same storage, so a value is new when its storage
is. Names:

- per training step: the name given to ``self.log`` (``on_step=True, on_epoch=True``
  gives Lightning ``x_step`` too: the same value, recorded once as ``x``);
- per training epoch: ``x_epoch`` for a metric also logged per step, else ``x``;
- per validation run: ``x`` (``val_loss``), one point at the current global step,
  on the chart of its training twin (``train_loss``); sanity-check values are skipped.

The loss the torch hooks record (``train/loss``) is not in ``callback_metrics``
unless the module logs it itself, which makes it the module's own series.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from .. import stops

_classes: dict[type, type] = {}


def _storage(value: Any) -> Any:
    """What tells a logged value apart: its tensor storage (no device sync)."""
    data_ptr = getattr(value, "data_ptr", None)
    return data_ptr() if data_ptr is not None else id(value)


class FreshMetrics:
    """The entries of ``callback_metrics`` logged since the previous read.

    Seen values are kept (not only their addresses), so no new tensor can reuse a
    seen one's storage address.
    """

    def __init__(self) -> None:
        self.seen: dict[str, tuple[Any, Any]] = {}

    def take(self, metrics: Mapping[str, Any], validating: bool = False) -> list[tuple[str, Any]]:
        """``(name, value)`` for each new value, one name per value (see module doc)."""
        new: dict[str, Any] = {}
        seen = self.seen
        for key, value in metrics.items():
            where = _storage(value)
            old = seen.get(key)
            if old is not None and old[1] == where:
                continue
            seen[key] = (value, where)
            new[key] = where

        def twin(name: str, where: Any) -> bool:
            return name in new and new[name] == where

        out = []
        for key, where in new.items():
            if key.endswith("_step") and twin(key[:-5], where):
                continue  # x_step is x
            if key.endswith("_epoch") and validating and twin(key[:-6], where):
                continue  # validation: x_epoch is x
            if not validating and twin(f"{key}_epoch", where):
                continue  # training: the epoch mean is x_epoch, x is per step
            out.append((key, metrics[key]))
        return out


def record(run: Any, name: str, step: int, value: Any) -> None:
    """Append one value; a device tensor goes to the run's asynchronous sink."""
    device = getattr(value, "device", None)
    if device is not None and device.type != "cpu" and run.device_sink is not None:
        run.device_sink(name, step, value)
    else:
        run.buffer.append(name, step, float(value))


def callback_class(base: type) -> type:
    """The monitor callback class derived from ``base`` (a Lightning ``Callback``)."""
    if base not in _classes:
        _classes[base] = type("NbmonitorCallback", (_Monitor, base), {})
    return _classes[base]


class _Monitor:
    """Records logged metrics at the run's global step; epochs, total, stop, pause.

    The torch hooks count steps (``run.step``, optimizer steps, which is
    Lightning's ``global_step`` in automatic optimization); batches where no
    optimizer step happened (gradient accumulation) record nothing, as Lightning's
    loggers do. Reads happen at batch start too (for what the module logs in its
    own ``on_train_batch_end``, which runs after callbacks).
    """

    def __init__(self, run: Any, set_total: bool = True) -> None:
        super().__init__()
        self.run = run
        self.set_total = set_total
        self.fresh = FreshMetrics()
        self.base = 0
        self.last_step = 0

    def _read(self, trainer: Any, validating: bool = False, keep: bool = True) -> None:
        run = self.run
        if run.stop_requested:
            trainer.should_stop = True
            stops.honour(run, "Lightning batch")
        items = self.fresh.take(trainer.callback_metrics, validating)
        if not keep:
            return
        step = run.step
        for name, value in items:
            record(run, name, step, value)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        run = self.run
        self.base = run.step - trainer.global_step
        self.last_step = run.step
        if self.set_total:
            try:
                total = float(trainer.estimated_stepping_batches)
            except Exception:  # no length: no total, no ETA
                total = math.inf
            if math.isfinite(total):
                run.total_steps = run.step + max(0, int(total) - trainer.global_step)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._read(trainer)  # the previous epoch's means (x_epoch)
        self.run.set_epoch(trainer.current_epoch + 1)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any,
                             batch_idx: int) -> None:
        run = self.run
        while run.paused and not run.stop_requested:
            run.wait_resume()
        if run.epoch != trainer.current_epoch + 1:
            run.set_epoch(trainer.current_epoch + 1)
        self._read(trainer)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        run = self.run
        if not run.hooks_count_steps:  # no torch hooks counting: Lightning's count
            run.step = max(run.step, self.base + trainer.global_step)
        stepped = run.step != self.last_step
        self.last_step = run.step
        self._read(trainer, keep=stepped)
        if run.stop_requested and not getattr(trainer.fit_loop, "_can_stop_early", True):
            stops.raise_stop(run, "Lightning batch, before min_epochs/min_steps")

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._read(trainer, keep=not trainer.sanity_checking)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        self._read(trainer, validating=True, keep=not trainer.sanity_checking)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._read(trainer)  # the last epoch's means
