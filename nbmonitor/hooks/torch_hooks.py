"""PyTorch capture with no code change.

- loss: ``torch.Tensor.backward`` is wrapped; a 0-d tensor's detached value is kept
  (the unscaled one under ``GradScaler``) and :mod:`.torch_losses` decides which
  optimizer step it belongs to and how the losses of one step add up (gradient
  accumulation, several losses per batch, LBFGS closures);
- steps and learning rates: global optimizer step hooks. One optimizer records
  ``train/loss`` and ``lr``; several (GANs, actor-critic) record
  ``train/loss/<name>`` and ``lr/<name>`` each at its own step count, named as
  in :mod:`.torch_names`; the global step is the count of the most frequent one.
  The pre-step hook applies learning-rate changes queued with ``Run.scale_lr``;
- gradients and weights: :mod:`.torch_watch`, from the same step hooks;
- epochs: ``DataLoader.__iter__`` is wrapped; the loader iterated before the first
  optimizer step is the training loader, and each new pass over it is an epoch.

On CUDA no value is read on the host during a step: device values go through a
:class:`~.torch_queue.DeviceQueue`.
"""
from __future__ import annotations

import math
import sys
import threading
import weakref
from typing import Any

import torch
from torch import nn
from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                   register_optimizer_step_pre_hook)
from torch.utils.data import DataLoader
from torch.utils.data.dataloader import _BaseDataLoaderIter

from .. import knobs, stops
from ..lr import readable_lr
from . import undo_all
from .torch_losses import LossBook, divisor_of
from .torch_names import named, owner_name, params_of, user_scopes
from .torch_queue import DeviceQueue
from .torch_nested import NestedSteps

__all__ = ["DeviceQueue", "TorchHandle", "install"]

_ident = threading.get_ident


class _Optimizer:
    """What the hooks know of one optimizer."""

    __slots__ = ("ref", "name", "steps")

    def __init__(self, optimizer, name: str) -> None:
        self.ref = weakref.ref(optimizer)
        self.name = name
        self.steps = 0


class _State:
    def __init__(self, run, sync_every: int, accumulation: str | None,
                 namespace: dict | None) -> None:
        self.run = run
        self.namespace = namespace
        self.book = LossBook(accumulation)
        self.backwards_since_step = 0
        self.accumulation: int | None = None
        self.scaled: tuple[Any, torch.Tensor, float | None] | None = None
        self.primary: weakref.ref | None = None
        self.optimizers: dict[int, _Optimizer] = {}
        self.told_how = False
        self.steps_seen = 0  # optimizer steps the post-step hook saw
        self.loader_passes: dict[int, int] = {}
        self.last_loader: weakref.ref | None = None
        self.train_loader: int | None = None
        self.device_queue = DeviceQueue(run.buffer, sync_every)
        self.watch: Any = None

    def loss_name(self, opt: _Optimizer) -> str:
        return f"train/loss/{opt.name}" if self.book.multi else "train/loss"

    def lr_name(self, opt: _Optimizer, i: int, n: int) -> str:
        base = f"lr/{opt.name}" if self.book.multi else "lr"
        if n == 1:
            return base
        return f"{base}/group{i}" if self.book.multi else f"lr/group{i}"


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
        if self.state.watch is not None:
            self.state.watch.close()
        if errors:
            raise errors[0]


def _patch(owner: Any, attr: str, new: Any, removers: list) -> Any:
    original = owner.__dict__[attr]
    setattr(owner, attr, new)
    removers.append(lambda: setattr(owner, attr, original))
    return original


def install(run, *, sync_every: int = 32, epochs_hint: int | None = None,
            namespace: dict | None = None, accumulation: str | None = None,
            watch: "bool | str | None" = None, watch_every: int = 50) -> TorchHandle:
    """Start capturing loss, steps, learning rate and epochs into ``run``.

    ``accumulation`` (``"sum"``/``"mean"``) forces how several losses of one
    step combine; ``watch``: None records the global gradient norm, True adds
    per-layer norms and update ratios every ``watch_every`` steps, False/"off"
    records neither. ``namespace`` is where optimizers and models are named."""
    st = _State(run, sync_every, accumulation, namespace)
    book = st.book
    removers: list = []
    buffer = run.buffer

    # -- loss --------------------------------------------------------------
    orig_backward = torch.Tensor.__dict__["backward"]

    def backward(self, gradient=None, *args, **kwargs):
        # Keras (KERAS_BACKEND=torch) and other frameworks that record their own
        # loss set ``run.step_owner`` while they train: the loss is theirs then.
        if (gradient is None and self.ndim == 0 and run.step_owner is None
                and (run.thread_ident is None or _ident() == run.thread_ident)):
            scaled = st.scaled
            if scaled is not None and scaled[0]() is self:
                book.add(scaled[1], self.grad_fn, scaled[2])
            else:
                book.add(self.detach(), self.grad_fn, divisor_of(self))
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
                st.scaled = (weakref.ref(out), outputs.detach(), divisor_of(outputs))
            return out

        scale.__wrapped__ = orig_scale
        _patch(GradScaler, "scale", scale, removers)

    if GradScaler is not None and "step" in GradScaler.__dict__:
        orig_scaler_step = GradScaler.__dict__["step"]

        def scaler_step(self, optimizer, *args, **kwargs):
            steps = st.steps_seen
            out = orig_scaler_step(self, optimizer, *args, **kwargs)
            if st.steps_seen == steps and run.step_owner in (None, "torch"):
                book.take(optimizer)  # skipped (inf/NaN gradients): its losses go too
            return out

        scaler_step.__wrapped__ = orig_scaler_step
        _patch(GradScaler, "step", scaler_step, removers)

    # Gradients reset: with several optimizers, the losses so far are no longer
    # theirs (DCGAN's errG reaches D's weights, then netD.zero_grad()).
    orig_opt_zero = torch.optim.Optimizer.__dict__["zero_grad"]

    def opt_zero_grad(self, *args, **kwargs):
        if book.multi:
            book.zeroed({id(self)})
        return orig_opt_zero(self, *args, **kwargs)

    opt_zero_grad.__wrapped__ = orig_opt_zero
    _patch(torch.optim.Optimizer, "zero_grad", opt_zero_grad, removers)

    orig_mod_zero = nn.Module.__dict__["zero_grad"]

    def mod_zero_grad(self, *args, **kwargs):
        if book.multi and book.losses:
            owners = {book.owner.get(id(p)) for p in self.parameters()}
            book.zeroed(owners - {None})
        return orig_mod_zero(self, *args, **kwargs)

    mod_zero_grad.__wrapped__ = orig_mod_zero
    _patch(nn.Module, "zero_grad", mod_zero_grad, removers)

    # -- epochs and batches -------------------------------------------------
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

    orig_next = _BaseDataLoaderIter.__dict__["__next__"]

    def __next__(self):
        book.batches += 1  # tells micro-batches from several losses of one batch
        return orig_next(self)

    __next__.__wrapped__ = orig_next
    _patch(_BaseDataLoaderIter, "__next__", __next__, removers)

    # -- steps, loss per step, learning rate --------------------------------
    def record(name: str, step: int, value: Any) -> None:
        if isinstance(value, torch.Tensor) and value.device.type != "cpu":
            st.device_queue.add(name, step, value)  # read later, with no sync
            return
        value = float(value)
        buffer.append(name, step, value)
        if run.stop_on_nan and not math.isfinite(value):
            run.stop_at_nan(name, step)  # the post-step hook stops at this step

    def first_step(optimizer) -> None:
        st.primary = weakref.ref(optimizer)
        try:
            run.knobs = knobs.torch_knobs(optimizer)
        except Exception:  # an exotic optimizer: no knobs, training goes on
            run.knobs = {}
        loader = st.last_loader() if st.last_loader is not None else None
        # Batches per step (gradient accumulation): from the loader when there is one
        # (a GAN's two backward calls per batch are one step), else backward calls.
        st.accumulation = max(1, book.batches if loader is not None and book.batches
                              else st.backwards_since_step)
        if loader is not None:
            st.train_loader = id(loader)
            run.set_epoch(st.loader_passes.get(id(loader), 1))
            if run.total_steps is None and epochs_hint:
                try:
                    per_epoch = math.ceil(len(loader) / st.accumulation)
                    run.total_steps = int(epochs_hint) * per_epoch
                except TypeError:  # IterableDataset without __len__
                    pass

    def meet(optimizer) -> _Optimizer:
        """First step of ``optimizer``: name it; on the very first, also find the
        other optimizers of the loop (disjoint parameters, in scope)."""
        scopes = user_scopes(st.namespace)
        in_scope = named(torch.optim.Optimizer, scopes, run.source)
        modules = named(nn.Module, scopes, run.source)
        if not st.optimizers:
            mine = {id(p) for p in params_of(optimizer)}
            for other in in_scope.values():
                theirs = {id(p) for p in params_of(other)}
                if other is not optimizer and theirs and not theirs & mine:
                    mine |= theirs
                    book.know(other)
        was_multi = book.multi
        book.know(optimizer)
        by_id = {id(o): n for n, o in in_scope.items()}
        taken = {o.name for o in st.optimizers.values()}
        name = by_id.get(id(optimizer)) or owner_name(optimizer, modules)
        if not name or name in taken:
            name = f"opt{len(st.optimizers)}"
        info = st.optimizers[id(optimizer)] = _Optimizer(optimizer, name)
        if book.multi and not was_multi and len(st.optimizers) > 1:
            _split_series(st)
        return info

    nested = NestedSteps()

    def pre_hook(optimizer, args, kwargs):
        if run.thread_ident is not None and _ident() != run.thread_ident:
            return
        if nested.enter(optimizer, book.stepping):
            return  # a subclass's step calling super().step(): one step, counted once
        while run.paused and not run.stop_requested:
            run.wait_resume()
        book.stepping = id(optimizer)
        # Queued learning-rate changes (alerts, controls), before this step uses it.
        if run._lr_scale is not None and (st.primary is None or st.primary() is optimizer):
            run.apply_pending(optimizer)
        if run.has_pending and st.primary is not None and st.primary() is optimizer:
            apply_pending(optimizer)
        if run.step_owner not in (None, "torch"):
            return
        info = st.optimizers.get(id(optimizer)) or meet(optimizer)
        if st.watch is not None:
            st.watch.pre_step(optimizer, info.steps + 1, info.name if book.multi else None)

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
        if run.thread_ident is not None and _ident() != run.thread_ident:
            return
        if nested.leave(optimizer):
            return
        book.stepping = None
        st.steps_seen += 1
        if run.step_owner not in (None, "torch"):
            return
        info = st.optimizers.get(id(optimizer))
        if info is None:
            info = meet(optimizer)
        if st.primary is None:
            first_step(optimizer)
        info.steps += 1
        step = info.steps
        if step > run.step:
            run.step = step
        run.hooks_count_steps = True
        if st.primary() is optimizer:
            st.backwards_since_step = 0
        losses = book.take(optimizer)
        if losses:
            record(st.loss_name(info), step, book.combine(losses, id(optimizer)))
            if book.how is not None and not st.told_how:
                st.told_how = True
                run.event("accumulation", f"{st.loss_name(info)}: {book.how} per step",
                          how=book.how)
        groups = optimizer.param_groups
        for i, group in enumerate(groups):
            lr = readable_lr(group.get("lr"))  # None for lr='auto' and the like
            if lr is not None:
                record(st.lr_name(info, i, len(groups)), step, lr)
        if st.watch is not None:
            st.watch.post_step(optimizer, step)
        if run.stop_requested and run.stop_owner is None:
            stops.raise_stop(run, "optimizer step")  # StopRun (see nbmonitor.stops)

    if watch not in (False, "off"):
        from .torch_watch import Watch
        st.watch = Watch(run, record, st.device_queue, st.namespace,
                         per_layer=watch in (True, "on"), every=watch_every)
    h_pre = register_optimizer_step_pre_hook(pre_hook)
    h_post = register_optimizer_step_post_hook(post_hook)
    removers.append(h_pre.remove)
    removers.append(h_post.remove)
    return TorchHandle(st, removers)


def _split_series(st: _State) -> None:
    """A second optimizer showed up after the first was named alone: its points
    so far move to ``train/loss/<name>`` and ``lr/<name>`` (copied; an event
    says so)."""
    buffer = st.run.buffer
    first = next(iter(st.optimizers.values()))
    for old, new in (("train/loss", f"train/loss/{first.name}"), ("lr", f"lr/{first.name}")):
        if old in buffer:
            steps, values, times = buffer.series(old).arrays()
            buffer.series(new).extend(steps, values, times)
    st.run.event("optimizers", f"several optimizers: series per optimizer from step "
                 f"{st.run.step} on ({', '.join(o.name for o in st.optimizers.values())})")
