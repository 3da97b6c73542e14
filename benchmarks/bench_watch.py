"""Cost of watching the model: the global gradient norm (on by default) and
``--watch`` (per-layer norms and update ratios every 50 steps), on the CPU MLP of
``bench_train.py``, against the same loop bare and against nbmonitor with
``watch="off"``; Lightning's ``grad_norm`` (every step, as its
``on_before_optimizer_step`` recipe does) and ``wandb.watch(log="all",
log_freq=100)`` where installed.

Blocks of ``steps`` steps of the baseline (A) and the variant (B) alternate
(A B, B A, ...) in one process; the value is the median of the pair ratios B/A.
Blocks are timed in CPU time of the whole process (``time.process_time``: every
thread of nbmonitor included, other processes on a shared machine not).
nbmonitor variants run with meters and store off, so the ratio against
"watch off" is the cost of the gradient statistics alone.

``python benchmarks/bench_watch.py VARIANT [STEPS]`` prints one row as JSON.
"""
from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import _Loop  # noqa: E402
from common import (fmt, fmt_range, lightning_grad_norm, md_table, spread,  # noqa: E402
                    target)

NBM = {"nbmonitor, watch off": {"watch": "off"},
       "nbmonitor, grad norm (default)": {},
       "nbmonitor --watch (N=50)": {"watch": True, "watch_every": 50}}
VARIANTS = ["bare", *NBM, "lightning grad_norm", "wandb.watch"]
TARGETS = {"nbmonitor, grad norm (default)": 1.02, "nbmonitor --watch (N=50)": 1.03}


def available(variant: str) -> str | None:
    """None when the variant can run here, else why not."""
    if variant == "lightning grad_norm" and lightning_grad_norm() is None:
        return "lightning not installed"
    if variant == "wandb.watch" and importlib.util.find_spec("wandb") is None:
        return "wandb not installed"
    return None


class _Block:
    """Runs ``steps`` steps of one variant."""

    def __init__(self, variant: str, loop: _Loop, tmp: str) -> None:
        self.variant, self.loop = variant, loop
        self.grad_norm = None
        if variant == "lightning grad_norm":
            self.grad_norm = lightning_grad_norm()
        if variant == "wandb.watch":
            import os
            import wandb
            os.environ["WANDB_MODE"] = "offline"
            self.wandb = wandb.init(project="nbm-bench", dir=tmp)
            wandb.watch(loop.model, log="all", log_freq=100)

    def __call__(self, steps: int) -> float:
        loop, t = self.loop, time.process_time()
        if self.variant in NBM:
            import nbmonitor
            with nbmonitor.monitor(name="bench", frontend="text", source="import torch",
                                   meters=False, store=False, print_capture=False,
                                   **NBM[self.variant]):
                loop.run(steps)
        elif self.grad_norm is not None:
            fn, model = self.grad_norm, loop.model
            loop.run(steps, hook=lambda: fn(model, norm_type=2))
        elif self.variant == "wandb.watch":
            loop.run(steps, log=lambda step, v: self.wandb.log({"loss": v}, step=step))
        else:
            loop.run(steps)
        return time.process_time() - t


def measure(variant: str, baseline: str = "bare", steps: int = 2000, pairs: int = 5,
            threads: int = 1, budget: float = 120.0, tmp: str | None = None) -> dict:
    """Median (range) of variant / baseline over up to ``pairs`` interleaved pairs."""
    import tempfile
    tmp = tmp or tempfile.mkdtemp(prefix="nbm-bench-")
    loop = _Loop(threads)
    a, b = _Block(baseline, loop, tmp), _Block(variant, loop, tmp)
    a(max(1, steps // 4))
    b(max(1, steps // 4))
    ta, tb, ratios, t0 = [], [], [], time.perf_counter()
    for i in range(pairs):
        if i and time.perf_counter() - t0 > budget:
            break
        if i % 2 == 0:
            x, y = a(steps), b(steps)
        else:
            y, x = b(steps), a(steps)
        ta.append(x)
        tb.append(y)
        ratios.append(y / x)
    return {"variant": variant, "baseline": baseline, "ratio": spread(ratios),
            "base_ms": statistics.median(ta) / steps * 1e3,
            "variant_ms": statistics.median(tb) / steps * 1e3,
            "pairs": len(ratios), "steps": steps, "threads": threads}


def cases() -> list[tuple[str, str]]:
    """(variant, baseline) pairs measured by ``benchmarks/run.py``."""
    out = [("bare", "bare")]
    out += [(v, "bare") for v in NBM]
    out += [(v, "nbmonitor, watch off") for v in list(NBM)[1:]]
    out += [("lightning grad_norm", "bare"), ("wandb.watch", "bare")]
    return out


def markdown(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if "ratio" not in r:
            out.append([r["variant"], r.get("baseline", "-"), "-", "-", "-", "-", "-",
                        r.get("note", "skipped")])
            continue
        limit = TARGETS.get(r["variant"]) if r["baseline"] == "nbmonitor, watch off" else None
        out.append([r["variant"], r["baseline"], fmt_range(r["ratio"], 4),
                    target(r["ratio"]["median"], limit) if limit else "-",
                    fmt(r["base_ms"]), fmt(r["variant_ms"]), f"{r['pairs']} x {r['steps']}",
                    r.get("note", "")])
    head = ["variant", "against", "variant / against, median (range)", "target",
            "against ms/step", "variant ms/step", "pairs x steps", "notes"]
    return md_table(head, out, "lllrrrll")


if __name__ == "__main__":
    v = sys.argv[1]
    base = sys.argv[3] if len(sys.argv) > 3 else "bare"
    print(json.dumps(measure(v, base, steps=int(sys.argv[2]) if len(sys.argv) > 2 else 300,
                             pairs=2)))
