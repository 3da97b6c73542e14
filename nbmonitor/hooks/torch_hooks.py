"""PyTorch capture with no code change.

- loss: ``torch.Tensor.backward`` is wrapped; a 0-d tensor's detached value is kept
  (the unscaled one under ``GradScaler``) and the losses between two optimizer
  steps are averaged (gradient accumulation);
- global step and learning rate: global optimizer step hooks; the pre-step hook
  also applies learning-rate changes queued with ``Run.scale_lr``;
- epochs: ``DataLoader.__iter__`` is wrapped; the loader iterated before the first
  optimizer step is the training loader, and each new pass over it is an epoch.

On CUDA no value is read on the host during a step: device scalars are stacked
every ``sync_every`` steps, copied with ``non_blocking=True`` into pinned memory
and read once a CUDA event says the copy is done.
"""
from __future__ import annotations

import math
import time
import sys
import threading
import weakref
from typing import Any

import torch
from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                   register_optimizer_step_pre_hook)
from torch.utils.data import DataLoader

from .. import knobs, stops
from ..lr import readable_lr
from . import undo_all

_ident = threading.get_ident


class DeviceQueue:
    """Device scalars waiting for an asynchronous copy to the host.

    Values are stacked and copied once ``every`` of them are pending or the
    oldest has waited ``max_delay`` seconds, so charts of slow steps stay fresh.
    ``event_factory`` and ``pin`` exist so the queue's logic is testable where
    there is no GPU; in use they are ``torch.cuda.Event`` and pinned memory.
    """

    def __init__(self, buffer, every: int = 32, max_delay: float = 0.5,
                 event_factory: Any = None, pin: bool = True) -> None:
        self.buffer = buffer
        self.every = every
        self.max_delay = max_delay
        self.event_factory = event_factory
        self.pin = pin
        self.pending: list[tuple[str, float, torch.Tensor]] = []
        self.inflight: list[tuple[list[tuple[str, float]], torch.Tensor, Any]] = []
        self._oldest = 0.0

    def add(self, name: str, step: float, value: torch.Tensor) -> None:
        now = time.monotonic()
        if not self.pending:
            self._oldest = now
        self.pending.append((name, step, value))
        if len(self.pending) >= self.every or now - self._oldest >= self.max_delay:
            self.launch()
        if self.inflight:
            self.poll()

    def launch(self) -> None:
        """Start one batched device-to-host copy of what is pending."""
        if not self.pending:
            return
        by_device: dict[torch.device, list[tuple[str, float, torch.Tensor]]] = {}
        for item in self.pending:
            by_device.setdefault(item[2].device, []).append(item)
        self.pending = []
        for device, items in by_device.items():
            vals = torch.stack([t.detach().reshape(()).float() for _, _, t in items])
            host = torch.empty(vals.shape, dtype=vals.dtype, pin_memory=self.pin)
            host.copy_(vals, non_blocking=True)
            if self.event_factory is None:
                event = torch.cuda.Event()
                event.record(torch.cuda.current_stream(device))
            else:
                event = self.event_factory()
                event.record()
            self.inflight.append(([(n, s) for n, s, _ in items], host, event))

    def poll(self) -> None:
        """Record every copy that has landed, oldest first; never waits."""
        while self.inflight and self.inflight[0][2].query():
            keys, host, _ = self.inflight.pop(0)
            for (name, step), v in zip(keys, host.tolist()):
                self.buffer.append(name, step, v)

    def drain(self) -> None:
        """At the end of a run: copy what is left and wait for it."""
        self.launch()
        for _, _, event in self.inflight:
            event.synchronize()
        self.poll()


class _State:
    def __init__(self, run, sync_every: int) -> None:
        self.run = run
        self.pending: list[torch.Tensor] = []
        self.backwards_since_step = 0
        self.accumulation: int | None = None
        self.scaled: tuple[Any, torch.Tensor] | None = None
        self.primary: weakref.ref | None = None
        self.loader_passes: dict[int, int] = {}
        self.last_loader: weakref.ref | None = None
        self.train_loader: int | None = None
        self.last_lr: list[float] = []
        self.device_queue = DeviceQueue(run.buffer, sync_every)


class TorchHandle:
    """Undoes every patch and hook of :func:`install`."""

    def __init__(self, state: _State, removers: list) -> None:
        self.state = state
        self._removers = removers

    def remove(self) -> None:
        errors = undo_all(self._removers)
        try:
            self.state.device_queue.drain()
        except Exception as e:
            errors.append(e)
        if errors:
            raise errors[0]


def _patch(owner: Any, attr: str, new: Any, removers: list) -> Any:
    original = owner.__dict__[attr]
    setattr(owner, attr, new)
    removers.append(lambda: setattr(owner, attr, original))
    return original


def install(run, *, sync_every: int = 32, epochs_hint: int | None = None) -> TorchHandle:
    """Start capturing loss, steps, learning rate and epochs into ``run``."""
    st = _State(run, sync_every)
    removers: list = []
    buffer = run.buffer

    # -- loss --------------------------------------------------------------
    orig_backward = torch.Tensor.__dict__["backward"]

    def backward(self, gradient=None, *args, **kwargs):
        # Keras (KERAS_BACKEND=torch) calls backward itself and records its loss.
        if (gradient is None and self.ndim == 0 and run.step_owner is None
                and (run.thread_ident is None or _ident() == run.thread_ident)):
            scaled = st.scaled
            if scaled is not None and scaled[0]() is self:
                st.pending.append(scaled[1])
            else:
                st.pending.append(self.detach())
            st.backwards_since_step += 1
        return orig_backward(self, gradient, *args, **kwargs)

    backward.__doc__ = orig_backward.__doc__
    backward.__wrapped__ = orig_backward
    _patch(torch.Tensor, "backward", backward, removers)

    try:
        from torch.amp import GradScaler
    except ImportError:  # pragma: no cover - older torch
        GradScaler = None
    if GradScaler is not None and "scale" in GradScaler.__dict__:
        orig_scale = GradScaler.__dict__["scale"]

        def scale(self, outputs):
            out = orig_scale(self, outputs)
            if isinstance(outputs, torch.Tensor) and outputs.ndim == 0:
                st.scaled = (weakref.ref(out), outputs.detach())
            return out

        scale.__wrapped__ = orig_scale
        _patch(GradScaler, "scale", scale, removers)

    # -- epochs ------------------------------------------------------------
    orig_iter = DataLoader.__dict__["__iter__"]

    def __iter__(self):
        key = id(self)
        passes = st.loader_passes.get(key, 0) + 1
        st.loader_passes[key] = passes
        st.last_loader = weakref.ref(self)
        if key == st.train_loader:
            run.set_epoch(passes)
        return orig_iter(self)

    __iter__.__wrapped__ = orig_iter
    _patch(DataLoader, "__iter__", __iter__, removers)

    # -- steps, loss per step, learning rate --------------------------------
    def record(name: str, step: int, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            if value.device.type == "cpu":
                buffer.append(name, step, float(value))
            else:
                st.device_queue.add(name, step, value)
        else:
            buffer.append(name, step, float(value))

    def first_step(optimizer) -> None:
        st.primary = weakref.ref(optimizer)
        try:
            run.knobs = knobs.torch_knobs(optimizer)
        except Exception:  # an exotic optimizer: no knobs, training goes on
            run.knobs = {}
        st.accumulation = max(1, st.backwards_since_step)
        loader = st.last_loader() if st.last_loader is not None else None
        if loader is not None:
            st.train_loader = id(loader)
            run.set_epoch(st.loader_passes.get(id(loader), 1))
            if run.total_steps is None and epochs_hint:
                try:
                    per_epoch = math.ceil(len(loader) / st.accumulation)
                    run.total_steps = int(epochs_hint) * per_epoch
                except TypeError:  # IterableDataset without __len__
                    pass

    def pre_hook(optimizer, args, kwargs):
        if run.thread_ident is not None and _ident() != run.thread_ident:
            return
        while run.paused and not run.stop_requested:
            run.wait_resume()
        # Queued learning-rate changes (alerts, controls), before this step uses it.
        if run._lr_scale is not None and (st.primary is None or st.primary() is optimizer):
            run.apply_pending(optimizer)
        if run.has_pending and st.primary is not None and st.primary() is optimizer:
            apply_pending(optimizer)

    def apply_pending(optimizer) -> None:
        """Knob changes asked for since the last step, applied before this one."""
        for name, value in run.take_controls().items():
            try:
                old, new = knobs.apply_torch(optimizer, name, value)
            except Exception as e:  # reported, never raised into the loop
                print(f"nbmonitor: could not set {name}: {e}", file=sys.stderr)
                continue
            run.record_control(name, old, new)

    def post_hook(optimizer, args, kwargs):
        if run.step_owner not in (None, "torch"):
            return
        if run.thread_ident is not None and _ident() != run.thread_ident:
            return
        if st.primary is None:
            first_step(optimizer)
        elif st.primary() is not optimizer:
            return
        run.hooks_count_steps = True
        run.step += 1
        step = run.step
        st.backwards_since_step = 0
        pending = st.pending
        if pending:
            st.pending = []
            if len(pending) == 1:
                loss = pending[0]
            elif all(p.device.type == "cpu" for p in pending):
                loss = sum(float(p) for p in pending) / len(pending)
            else:
                loss = torch.stack([p.float() for p in pending]).mean()
            record("train/loss", step, loss)
        groups = optimizer.param_groups
        for i, group in enumerate(groups):
            lr = readable_lr(group.get("lr"))  # None for lr='auto' and the like
            if lr is not None:
                record("lr" if len(groups) == 1 else f"lr/group{i}", step, lr)
        if run.stop_requested and run.stop_owner is None:
            stops.raise_stop(run, "optimizer step")  # StopRun (see nbmonitor.stops)

    h_pre = register_optimizer_step_pre_hook(pre_hook)
    h_post = register_optimizer_step_post_hook(post_hook)
    removers.append(h_pre.remove)
    removers.append(h_post.remove)
    return TorchHandle(st, removers)
