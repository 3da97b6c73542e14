"""Which losses belong to which optimizer step, and how they add up.

The backward wrapper hands every 0-d loss to a :class:`LossBook`; an optimizer's
post-step hook takes the losses that are its own and gets one value:

- one optimizer: every loss since the previous step;
- several (GANs, actor-critic): the losses whose backward reached the
  optimizer's parameters (found on the loss's autograd graph, only once a second
  optimizer is known), since that optimizer's gradients were last zeroed;
- one value per step: a single loss as is; ``LBFGS`` closures: the last one;
  several losses of one data batch (DCGAN's ``errD_real`` + ``errD_fake``): their
  sum; micro-batches of gradient accumulation: the loss of the effective batch,
  the sum when each micro-loss was divided by their number (seen on the graph:
  ``loss / 4`` is a ``DivBackward`` by 4), else the mean. ``mode`` forces sum or
  mean for several losses.
"""
from __future__ import annotations

import math
from typing import Any

import torch


def divisor_of(t: torch.Tensor) -> float | None:
    """``c`` when ``t`` is ``x / c`` or ``x * (1/c)`` for a constant host scalar."""
    gf = t.grad_fn
    if gf is None:
        return None
    kind = type(gf).__name__
    if not (kind.startswith("DivBackward") or kind.startswith("MulBackward")):
        return None
    c = getattr(gf, "_saved_other", None)
    # Only a host scalar: reading a device tensor would synchronize.
    if (not isinstance(c, torch.Tensor) or c.device.type != "cpu" or c.numel() != 1
            or c.requires_grad):
        return None
    c = float(c)
    if kind.startswith("Mul"):
        return 1.0 / c if c else None
    return c


class Loss:
    """One loss given to ``backward``."""

    __slots__ = ("value", "grad_fn", "divisor", "batch", "stepping", "open")

    def __init__(self, value: torch.Tensor, grad_fn: Any, divisor: float | None,
                 batch: int, stepping: int | None) -> None:
        self.value = value
        self.grad_fn = grad_fn
        self.divisor = divisor
        self.batch = batch
        self.stepping = stepping  # id of the optimizer whose step() ran it (a closure)
        self.open: set[int] | None = None  # optimizers yet to take it (None: unknown)


class LossBook:
    """The losses waiting for their optimizer steps (training thread only)."""

    def __init__(self, mode: str | None = None) -> None:
        if mode not in (None, "sum", "mean"):
            raise ValueError(f"accumulation must be 'sum' or 'mean', not {mode!r}")
        self.mode = mode
        self.losses: list[Loss] = []
        self.owner: dict[int, int] = {}  # id(param) -> id(optimizer)
        self.optimizers: set[int] = set()
        self.batches = 0  # DataLoader batches fetched so far
        self.stepping: int | None = None  # optimizer inside its step() now
        self.how: str | None = None  # how the last multi-loss step was combined

    @property
    def multi(self) -> bool:
        return len(self.optimizers) > 1

    def know(self, optimizer: torch.optim.Optimizer) -> None:
        """Map ``optimizer``'s parameters, so that losses can be matched to it."""
        key = id(optimizer)
        self.optimizers.add(key)
        for g in optimizer.param_groups:
            for p in g["params"]:
                self.owner.setdefault(id(p), key)

    def add(self, value: torch.Tensor, grad_fn: Any, divisor: float | None) -> None:
        self.losses.append(Loss(value, grad_fn, divisor, self.batches, self.stepping))

    def _touched(self, loss: Loss) -> set[int]:
        """Optimizers whose parameters ``loss``'s graph reaches (all when none)."""
        found: set[int] = set()
        seen: set[int] = set()
        stack = [loss.grad_fn]
        owner = self.owner
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            var = getattr(node, "variable", None)
            if var is not None:
                key = owner.get(id(var))
                if key is not None:
                    found.add(key)
                continue
            stack.extend(f for f, _ in node.next_functions)
        return found or set(self.optimizers)

    def _opened(self, loss: Loss) -> set[int]:
        if loss.open is None:
            loss.open = self._touched(loss)
            loss.grad_fn = None  # the graph is no longer needed
        return loss.open

    def zeroed(self, keys: set[int]) -> None:
        """The gradients of optimizers ``keys`` were reset: their losses so far go."""
        if not self.multi or not self.losses:
            return
        for loss in self.losses:
            self._opened(loss).difference_update(keys)
        self.losses = [l for l in self.losses if l.open]

    def take(self, optimizer: torch.optim.Optimizer) -> list[Loss]:
        """The losses of the step ``optimizer`` just made, removed from the book."""
        if not self.multi:
            mine, self.losses = self.losses, []
            return mine
        key = id(optimizer)
        mine, left = [], []
        for loss in self.losses:
            opened = self._opened(loss)
            if key in opened:
                mine.append(loss)
                opened.discard(key)
            if opened:
                left.append(loss)
        self.losses = left
        return mine

    def combine(self, losses: list[Loss], key: int) -> Any:
        """One value for one step (a float or a device scalar); sets ``how``."""
        closure = [l for l in losses if l.stepping == key]
        if closure:  # LBFGS and friends: the closure's last evaluation
            losses = closure[-1:]
        n = len(losses)
        if n == 1:
            return losses[0].value
        if self.mode is not None:
            total, self.how = self.mode == "sum", f"{self.mode} (--accumulation {self.mode})"
        elif all(l.divisor is not None and math.isclose(l.divisor, n, rel_tol=1e-6)
                 for l in losses):
            total, self.how = True, f"sum of {n} micro-batch losses, each divided by {n}"
        elif (len({l.batch for l in losses}) == 1 and (self.batches or self.multi)):
            total, self.how = True, f"sum of {n} losses of one batch"
        else:
            total, self.how = False, f"mean of {n} micro-batch losses"
        values = [l.value for l in losses]
        if all(v.device.type == "cpu" for v in values):
            s = sum(float(v) for v in values)
            return s if total else s / n
        stacked = torch.stack([v.float() for v in values])
        return stacked.sum() if total else stacked.mean()
