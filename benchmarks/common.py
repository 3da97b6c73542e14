"""Small helpers shared by the benchmarks: memory readings, statistics, tables."""
from __future__ import annotations

import resource
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the worktree's nbmonitor, run as a script or a module
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Resident set size of this process now, in MB (10^6 bytes)."""
    import psutil
    return psutil.Process().memory_info().rss / 1e6


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux: ru_maxrss is kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def spread(xs: list[float]) -> dict:
    """Median, min and max of ``xs``."""
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, no exponent for everyday sizes."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_range(s: dict | None, digits: int = 3) -> str:
    """``median (min-max)`` of a :func:`spread`."""
    if not s:
        return "-"
    return f"{fmt(s['median'], digits)} ({fmt(s['min'], digits)}-{fmt(s['max'], digits)})"


def target(value: float | None, limit: float) -> str:
    """``met`` when ``value`` is at most ``limit``, else ``missed``."""
    if value is None:
        return "-"
    return "met" if value <= limit else "**missed**"


def md_table(head: list[str], rows: list[list[str]], align: str = "") -> str:
    """A markdown table; ``align`` has one character per column (``l`` or ``r``)."""
    align = align or "l" * len(head)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(sep) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def lightning_grad_norm():
    """Lightning's ``grad_norm``, from whichever of its two packages is installed;
    None without Lightning."""
    import importlib
    import importlib.util
    for mod in ("lightning.pytorch.utilities", "pytorch_lightning.utilities"):
        if importlib.util.find_spec(mod.split(".")[0]) is not None:
            try:
                return importlib.import_module(mod).grad_norm
            except ImportError:
                continue
    return None


def signed(x: float) -> str:
    """``fmt`` with its sign always written (+2.1, -60.6)."""
    return ("+" if x >= 0 else "-") + fmt(abs(x))
