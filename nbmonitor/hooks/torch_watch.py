"""Gradients and weights, from the torch hooks' optimizer step hooks.

- every step: ``grad/norm``, the global L2 norm of the gradients an optimizer is
  about to apply (after ``GradScaler`` unscaled them; what ``clip_grad_norm_``
  returns). On an accelerator it is computed on the device with
  ``torch._foreach_norm`` and queued like the loss: no host synchronization. On
  CPU (float32/float64) it is one BLAS dot per gradient, read as host floats.
  Recorded once the step has gone through (a step that raises records nothing).
  With several optimizers each gets ``grad/norm/<optimizer name>``. A non-finite
  norm is explained in a ``context`` event naming the first parameter (module
  path) holding it, which the alert on that point quotes.
- per layer, on watched steps (the first, then every ``every``-th) with
  ``per_layer``: for each module owning parameters directly,
  ``grad/norm/<module>``, ``weight/norm/<module>`` (before the step) and
  ``update_ratio/<module>`` = ||w_after - w_before|| / ||w_before||, measured
  around the step (right for SGD, momentum, Adam, weight decay alike). The copy
  of the weights lives only from the pre-step to the post-step hook.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from .torch_names import named, parameter_names, params_of, user_scopes

NONFINITE = "grad/norm#nonfinite"  # a tap of the device queue, never a series


def norms(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, list[int] | None]:
    """The L2 norm of each tensor as one float vector on the first tensor's device,
    one ``_foreach_norm`` per (device, dtype), no host read; and the order of the
    vector (``vec[i]`` is ``tensors[order[i]]``; None: the given order)."""
    if not tensors:
        return torch.zeros(0), None
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((t.device, t.dtype), []).append(i)
    if len(groups) == 1:
        return torch.stack(torch._foreach_norm(tensors)).float(), None
    first = tensors[0].device
    parts = [torch.stack(torch._foreach_norm([tensors[i] for i in idx])).float()
             .to(first, non_blocking=True) for idx in groups.values()]
    return torch.cat(parts), [i for idx in groups.values() for i in idx]


_BLAS = (torch.float32, torch.float64)


def host_squares(tensors: list[torch.Tensor]) -> list[float] | None:
    """Each tensor's sum of squares as a host float, one BLAS dot per tensor (on CPU
    about twice as fast as ``_foreach_norm``, and the value is wanted on the host
    anyway); None unless all are contiguous float32/float64 CPU tensors."""
    dot, out = torch.dot, []
    for t in tensors:
        if not t.is_cpu or t.dtype not in _BLAS or not t.is_contiguous():
            return None
        flat = t if t.dim() == 1 else t.view(-1)
        out.append(float(dot(flat, flat)))
    return out


def host_list(values: list[int], device: torch.device) -> torch.Tensor:
    """A long tensor on ``device`` from a host list, with no synchronization."""
    t = torch.tensor(values, dtype=torch.long)
    if device.type == "cpu":
        return t
    return t.pin_memory().to(device, non_blocking=True)


class _Layers:
    """One optimizer's parameters grouped by owning module."""

    def __init__(self, params: list[torch.Tensor], names: dict[int, str]) -> None:
        self.params = params
        paths: list[str] = []
        for i, p in enumerate(params):
            full = names.get(id(p), f"param{i}")
            paths.append(full.rsplit(".", 1)[0] if "." in full else full)
        self.names = list(dict.fromkeys(paths))
        index = {n: i for i, n in enumerate(self.names)}
        self.index = [index[p] for p in paths]
        self.device = params[0].device if params else torch.device("cpu")
        self._segs: dict[tuple | None, torch.Tensor] = {}
        self.series = ([f"grad/norm/{n}" for n in self.names]
                       + [f"weight/norm/{n}" for n in self.names]
                       + [f"update_ratio/{n}" for n in self.names])

    def host_norms(self, squares: list[float]) -> list[float]:
        """Per-parameter sums of squares (host) -> per-layer norms."""
        sums = [0.0] * len(self.names)
        for i, v in zip(self.index, squares):
            sums[i] += v
        return [math.sqrt(v) for v in sums]

    def per_layer(self, vec: torch.Tensor, order: list[int] | None) -> torch.Tensor:
        """Per-parameter norms (in ``order``) -> per-layer norms (root of the sum of
        squares)."""
        key = tuple(order) if order is not None else None
        seg = self._segs.get(key)
        if seg is None:  # once per order: the index goes to the device once
            index = self.index if order is None else [self.index[i] for i in order]
            seg = self._segs[key] = host_list(index, vec.device)
        sq = torch.zeros(len(self.names), device=vec.device).index_add_(0, seg, vec * vec)
        return sq.sqrt()


class Watch:
    """Gradient and weight statistics of every optimizer step (training thread)."""

    def __init__(self, run: Any, record: Callable[[str, float, Any], None], queue: Any,
                 namespace: dict | None, per_layer: bool = False, every: int = 50) -> None:
        if every < 1:
            raise ValueError("watch_every must be at least 1")
        self.run = run
        self.record = record
        self.queue = queue
        self.namespace = namespace
        self.per_layer = per_layer
        self.every = every
        self._modules: dict[str, nn.Module] | None = None
        self._names: dict[int, str] | None = None
        self._layers: dict[int, _Layers] = {}
        self._orders: dict[tuple[str, float], tuple[list[torch.Tensor], Any]] = {}
        self._before: list[torch.Tensor] | None = None
        self._stats: torch.Tensor | tuple[list[float], list[float]] | None = None
        self._pending: dict[int, tuple[Any, Any]] = {}  # optimizer id -> norm to record
        queue.taps[NONFINITE] = self._nonfinite_at

    # -- names ---------------------------------------------------------------
    def _param_names(self, optimizer: torch.optim.Optimizer) -> dict[int, str]:
        if self._modules is None:
            self._modules = named(nn.Module, user_scopes(self.namespace), self.run.source)
        if self._names is None or not all(id(p) in self._names for p in params_of(optimizer)):
            self._names = {**(self._names or {}),
                           **parameter_names(params_of(optimizer), self._modules)}
        return self._names

    # -- every step ------------------------------------------------------------
    def pre_step(self, optimizer: torch.optim.Optimizer, step: int, name: str | None) -> None:
        """Before the step: the norm of the gradients it is about to apply. It is
        recorded by :meth:`post_step`, so a step that raises records nothing."""
        self._before = self._stats = None  # left by a step that raised, if any
        params = params_of(optimizer)
        grads = [p.grad for p in params if p.grad is not None]
        series = f"grad/norm/{name}" if name else "grad/norm"
        squares = host_squares(grads) if grads else None
        if not grads:
            self._pending[id(optimizer)] = (series, 0.0)
        elif squares is not None:  # CPU: host floats, the cheapest pass
            total = math.sqrt(sum(squares))
            if not math.isfinite(total):
                bad = next((i for i, v in enumerate(squares) if not math.isfinite(v)), 0)
                self._explain(series, step, grads[bad], optimizer)
            self._pending[id(optimizer)] = (series, total)
        else:
            per, order = norms(grads)
            if order is not None:
                grads = [grads[i] for i in order]
            total = torch.linalg.vector_norm(per)
            if total.device.type == "cpu":
                if not math.isfinite(float(total)):
                    bad = int((~torch.isfinite(per)).nonzero()[0])
                    self._explain(series, step, grads[bad], optimizer)
                self._pending[id(optimizer)] = (series, total)
            else:  # the first non-finite index travels with the norm, no host read
                finite = torch.isfinite(per)
                first = torch.where(finite.all(), -1, (~finite).int().argmax())
                self._pending[id(optimizer)] = ((NONFINITE, series), (grads, torch.stack(
                    [first.float(), total.float()])))
        if self.per_layer and (step == 1 or step % self.every == 0):
            self._pre_layers(optimizer, params)

    def _emit(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        """The step went through: record what :meth:`pre_step` measured."""
        pending = self._pending.pop(id(optimizer), None)
        if pending is None:
            return
        series, value = pending
        if isinstance(series, tuple):  # device: queued with its non-finite index
            grads, pair = value
            self._orders[(series[1], float(step))] = (grads, optimizer)
            self.queue.add_many(series, step, pair)
        else:
            self.record(series, step, value)

    def _nonfinite_at(self, step: float, index: float) -> None:
        """Device path: the index of the first non-finite gradient has landed."""
        for key in [k for k in self._orders if k[1] == step]:
            grads, optimizer = self._orders.pop(key)
            if index >= 0:
                self._explain(key[0], step, grads[int(index)], optimizer)
        # Entries of steps that can no longer land (older) go too: memory stays flat.
        for key in [k for k in self._orders if k[1] < step]:
            del self._orders[key]

    def _explain(self, series: str, step: float, grad: torch.Tensor, optimizer) -> None:
        where = "?"
        names = self._param_names(optimizer)
        for i, p in enumerate(params_of(optimizer)):
            if p.grad is grad:
                where = names.get(id(p), f"param{i}")
                break
        self.run.event("context", f"non-finite gradient at step {step:g}, first in {where}",
                       step=step, series=series, param=where)

    # -- watched steps ---------------------------------------------------------
    def _pre_layers(self, optimizer, params: list[torch.Tensor]) -> None:
        layers = self._layers.get(id(optimizer))
        if layers is None:
            layers = self._layers[id(optimizer)] = _Layers(params, self._param_names(optimizer))
        weights = [p.detach() for p in params]
        grads = [p.grad if p.grad is not None else p.new_zeros(()) for p in params]
        self._before = torch._foreach_mul(weights, 1.0)  # copies, freed after the step
        g, w = host_squares(grads), host_squares(weights)
        if g is not None and w is not None:
            self._stats = (layers.host_norms(g), layers.host_norms(w))
        else:
            self._stats = torch.stack([layers.per_layer(*norms(grads)),
                                       layers.per_layer(*norms(weights))])

    def post_step(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        self._emit(optimizer, step)
        before, stats = self._before, self._stats
        if before is None:
            return
        self._before = self._stats = None
        layers = self._layers[id(optimizer)]
        torch._foreach_sub_(before, [p.detach() for p in layers.params])  # -delta, in place
        if isinstance(stats, tuple):  # CPU: host floats
            moved = layers.host_norms(host_squares(before) or [])
            del before
            g, w = stats
            ratio = [m / x if x > 0 else 0.0 for m, x in zip(moved, w)]
            append = self.run.buffer.append
            for name, v in zip(layers.series, g + w + ratio):
                append(name, step, v)
            return
        moved = layers.per_layer(*norms(before))
        del before
        w = stats[1]
        ratio = torch.where(w > 0, moved / w.clamp_min(1e-30), torch.zeros_like(w))
        values = torch.cat([stats[0], w, ratio])
        if values.device.type == "cpu":
            append = self.run.buffer.append
            for name, v in zip(layers.series, values.tolist()):
                append(name, step, v)
        else:
            self.queue.add_many(layers.series, step, values)

    def close(self) -> None:
        """Let go of every tensor, module and tap (the run is over)."""
        self.queue.taps.pop(NONFINITE, None)
        self._before = self._stats = None
        self._orders.clear()
        self._pending.clear()
        self._layers.clear()
        self._modules = self._names = None
