"""``%%monitor_inference``: while a cell runs, every top-level inference call of a
model goes through an :class:`InferenceMonitor` of that model.

Inference calls are: a torch ``nn.Module`` called in eval mode or with gradients
off (``torch.no_grad`` / ``inference_mode``); a Keras model's ``predict``, and
its ``__call__`` unless ``training=True``. Calls made inside a watched call
(sub-modules, ``predict`` calling the model) are not counted again. On exit the
patched methods are the originals again and the monitors close (their panels
freeze, their servers stop).
"""
from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from .monitor import InferenceMonitor

_inside = threading.local()  # a watched call is running on this thread


class CellWatch:
    """Context manager behind ``%%monitor_inference``; options go to each monitor."""

    def __init__(self, name: str | None = None, serve: int | None = None,
                 **options: Any) -> None:
        self.name = name
        self.serve_port = serve
        self.options = options
        self.monitors: dict[int, InferenceMonitor] = {}
        self._undo: list[tuple[type, str, Any]] = []
        self._lock = threading.Lock()

    # -- which monitor ----------------------------------------------------------
    def monitor_for(self, model: Any, call: Any) -> InferenceMonitor:
        """The monitor of ``model`` (created at its first call)."""
        mon = self.monitors.get(id(model))
        if mon is not None:
            return mon
        with self._lock:
            if id(model) not in self.monitors:
                k = len(self.monitors)
                base = self.name or f"{type(model).__name__.lower()}-inference"
                name = base if k == 0 else f"{base}-{k + 1}"
                mon = InferenceMonitor(model, name, **self.options)
                mon.model = call  # the original method: no second pass through the patch
                self.monitors[id(model)] = mon
                self._show(mon, k)
            return self.monitors[id(model)]

    def _show(self, mon: InferenceMonitor, k: int) -> None:
        from ..env import frontend
        if self.serve_port is not None:
            server = mon.serve(self.serve_port + k)
            print(f"nbmonitor: {mon.run.name} served at {server.url}/metrics and /monitor",
                  file=sys.stderr)
        if frontend() == "widgets":
            from .display import show
            show(mon)

    # -- patching ---------------------------------------------------------------
    def _patch(self, cls: type, attr: str, wrapper: Any) -> None:
        self._undo.append((cls, attr, cls.__dict__.get(attr, _MISSING)))
        setattr(cls, attr, wrapper)

    def _watched(self, model: Any, orig: Any, args: tuple, kwargs: dict) -> Any:
        _inside.active = True
        try:
            return self.monitor_for(model, functools.partial(orig, model))(*args, **kwargs)
        finally:
            _inside.active = False

    def _patch_torch(self) -> None:
        torch = sys.modules.get("torch")
        if torch is None:
            return
        module = torch.nn.Module
        orig = module.__call__
        watch = self

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(_inside, "active", False) or (self.training
                                                     and torch.is_grad_enabled()):
                return orig(self, *args, **kwargs)
            return watch._watched(self, orig, args, kwargs)
        self._patch(module, "__call__", __call__)

    def _patch_keras(self) -> None:
        keras = sys.modules.get("keras")
        model = getattr(keras, "Model", None) if keras is not None else None
        if model is None:
            return
        watch = self
        for attr in ("predict", "__call__"):
            orig = getattr(model, attr)

            def wrapper(self: Any, *args: Any, __orig: Any = orig, __attr: str = attr,
                        **kwargs: Any) -> Any:
                if getattr(_inside, "active", False) or (
                        __attr == "__call__" and kwargs.get("training")):
                    return __orig(self, *args, **kwargs)
                return watch._watched(self, __orig, args, kwargs)
            self._patch(model, attr, wrapper)

    def __enter__(self) -> "CellWatch":
        self._patch_torch()
        self._patch_keras()
        return self

    def __exit__(self, *exc: Any) -> None:
        for cls, attr, old in reversed(self._undo):
            if old is _MISSING:
                delattr(cls, attr)
            else:
                setattr(cls, attr, old)
        self._undo = []
        for mon in self.monitors.values():
            mon.close()


_MISSING = object()
