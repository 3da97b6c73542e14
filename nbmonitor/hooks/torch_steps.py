"""Optimizer step hooks of the PyTorch capture (installed by
:func:`.torch_hooks.install`): the step count, the loss of each step (from the
:class:`~.torch_losses.LossBook`), learning rates, knob changes and queued
learning-rate scaling applied before a step, stop points, and the gradient
statistics of :mod:`.torch_watch`."""
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

from .. import knobs, stops
from ..lr import readable_lr
from .torch_names import named, owner_name, params_of, user_scopes
from .torch_nested import NestedSteps

_ident = threading.get_ident


class _Optimizer:
    """What the hooks know of one optimizer."""

    __slots__ = ("ref", "name", "steps")

    def __init__(self, optimizer, name: str) -> None:
        self.ref = weakref.ref(optimizer)
        self.name = name
        self.steps = 0


def install_steps(st: Any, removers: list, epochs_hint: int | None,
                  watch: "bool | str | None", watch_every: int) -> None:
    """Register the global optimizer step hooks on ``st`` (the capture's state);
    their removers go to ``removers``."""
    run, book, buffer = st.run, st.book, st.run.buffer

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


def _split_series(st: Any) -> None:
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
