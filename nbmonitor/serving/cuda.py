"""GPU time of a call of a torch model on a CUDA device: a start/end pair of CUDA
events recorded around the call on the caller's thread, read by the worker once
``end.query()`` says they completed, so no call ever synchronizes the device."""
from __future__ import annotations

import sys
from typing import Any, Callable


def cuda_event_pairs(model: Any) -> Callable[[], tuple[Any, Any]] | None:
    """For a torch model whose parameters are on a GPU: a function that records a
    start event and returns ``(start, end)`` (the caller records ``end``); else None."""
    torch = sys.modules.get("torch")
    params = getattr(model, "parameters", None)
    if torch is None or params is None or not torch.cuda.is_available():
        return None
    try:
        p = next(iter(params()))
    except (StopIteration, TypeError):
        return None
    if p.device.type != "cuda":
        return None
    Event = torch.cuda.Event

    def pair() -> tuple[Any, Any]:
        start, end = Event(enable_timing=True), Event(enable_timing=True)
        start.record()
        return start, end
    return pair
