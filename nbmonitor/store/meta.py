"""What a stored run records besides its points: notebook, cell hash, environment."""
from __future__ import annotations

import hashlib
import os
import platform
import sys
from typing import Any


def notebook_path(namespace: dict[str, Any] | None = None) -> str | None:
    """The notebook being run, when the kernel knows it (``__session__`` in the user
    namespace, set by ipykernel, else ``JPY_SESSION_NAME``); None elsewhere."""
    path = (namespace or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
    return str(path) if path else None


def source_hash(source: str) -> str | None:
    """A short hash of a cell's code (whitespace at the ends ignored)."""
    text = (source or "").strip()
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16] if text else None


def _gpu_names() -> list[str]:
    """GPU names through NVML when ``nvidia-ml-py`` and a driver are present."""
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        names = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return names
    except Exception:
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def environment() -> dict[str, Any]:
    """Python, platform and the versions of frameworks already imported (cheap:
    nothing is imported for this but NVML, when installed)."""
    from .. import __version__
    env: dict[str, Any] = {"python": platform.python_version(),
                           "platform": platform.platform(terse=True),
                           "nbmonitor": __version__}
    for mod in ("torch", "tensorflow", "keras", "jax", "numpy"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__version__", None):
            env[mod] = str(m.__version__)
    gpus = _gpu_names()
    if gpus:
        env["gpus"] = gpus
    return env
