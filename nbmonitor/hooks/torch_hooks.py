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
- the step hooks themselves live in :mod:`.torch_steps`; gradients and weights in
  :mod:`.torch_watch`, called from them;
- epochs: ``DataLoader.__iter__`` is wrapped; the loader iterated before the first
  optimizer step is the training loader, and each new pass over it is an epoch.

On CUDA no value is read on the host during a step: device values go through a
:class:`~.torch_queue.DeviceQueue`.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.dataloader import _BaseDataLoaderIter

from . import undo_all
from .torch_losses import LossBook, divisor_of
from .torch_queue import DeviceQueue
from .torch_steps import _Optimizer, install_steps

__all__ = ["DeviceQueue", "TorchHandle", "install"]

_ident = threading.get_ident


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

    # -- steps, loss per step, learning rate, gradients --------------------
    install_steps(st, removers, epochs_hint, watch, watch_every)
    return TorchHandle(st, removers)
