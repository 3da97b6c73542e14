"""Plain-data digests of a run's meter series, for the frozen snapshot."""
from __future__ import annotations

import re

import numpy as np

from ..run import Run

_GPU = re.compile(r"^gpu(\d+)/")


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _stats(run: Run, name: str) -> tuple[float, float] | None:
    """(last, peak) of a series, or None when it has no finite point."""
    if name not in run.buffer:
        return None
    _, v, _ = run.buffer.series(name).arrays()
    v = v[np.isfinite(v)]
    return (float(v[-1]), float(v.max())) if len(v) else None


def gpu_indices(run: Run) -> list[int]:
    """Indices of the GPUs that have meter series in ``run``."""
    return sorted({int(m.group(1)) for n in run.buffer.names() if (m := _GPU.match(n))})


def meter_notes(run: Run) -> list[str]:
    """What the meters said (``no NVIDIA GPU found``, a GPU lost), in order."""
    return [e.message for e in list(run.events) if e.kind == "meter"]


def meter_lines(run: Run) -> list[str]:
    """Short text lines with the last and peak readings, then the meters' notes."""
    lines = []
    for i in gpu_indices(run):
        p, parts = f"gpu{i}/", []
        if st := _stats(run, p + "util"):
            parts.append(f"util {st[0]:.0f}% (peak {st[1]:.0f}%)")
        used, total = _stats(run, p + "mem_used"), _stats(run, p + "mem_total")
        if used and total:
            parts.append(f"mem peak {_gb(used[1])} / {_gb(total[0])}")
        if st := _stats(run, p + "temp"):
            parts.append(f"temp peak {st[1]:.0f}C")
        if st := _stats(run, p + "power"):
            lim = _stats(run, p + "power_limit")
            parts.append(f"power peak {st[1]:.0f}" + (f"/{lim[0]:.0f}" if lim else "") + " W")
        if st := _stats(run, p + "torch_reserved"):
            parts.append(f"torch reserved peak {_gb(st[1])}")
        if parts:
            lines.append(f"gpu{i}: " + ", ".join(parts))
    parts = []
    if st := _stats(run, "sys/cpu"):
        parts.append(f"cpu {st[0]:.0f}% (peak {st[1]:.0f}%)")
    if st := _stats(run, "sys/ram"):
        parts.append(f"ram {st[0]:.0f}% (peak {st[1]:.0f}%)")
    if st := _stats(run, "proc/rss"):
        parts.append(f"process rss {_gb(st[0])} (peak {_gb(st[1])})")
    if parts:
        lines.append("system: " + ", ".join(parts))
    return lines + meter_notes(run)


Curve = tuple[np.ndarray, np.ndarray, np.ndarray]  # steps, values, wall times


def percent_series(run: Run) -> dict[str, Curve]:
    """Meter readings as percents: CPU, RAM, and per GPU util and memory."""
    out: dict[str, Curve] = {}
    buf = run.buffer
    for name, label in (("sys/cpu", "cpu"), ("sys/ram", "ram")):
        if name in buf:
            out[label] = buf.series(name).arrays()
    for i in gpu_indices(run):
        p = f"gpu{i}/"
        if p + "util" in buf:
            out[f"gpu{i} util"] = buf.series(p + "util").arrays()
        if p + "mem_used" in buf and p + "mem_total" in buf:
            s, used, t = buf.series(p + "mem_used").arrays()
            total = buf.series(p + "mem_total").last_value
            if total > 0:
                out[f"gpu{i} mem"] = (s, used / total * 100, t)
    return out
