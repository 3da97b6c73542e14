"""Training slowdown: a CPU MLP loop, monitored over bare, per tool.

One variant per process (``measure(variant)``): a 784-256-10 MLP, batch 64, SGD,
synthetic data, ``torch.set_num_threads(threads)``. Blocks of ``steps`` steps run
bare (A) and monitored (B) in alternating order (A B, B A, A B ...) in one
process; the result is the median of the per-pair ratios B / A, which shrugs off
this machine's random stalls. nbmonitor needs no code change: each B block is the
plain loop inside ``with nbmonitor.monitor(...)`` (hooks, meters and store as by
default, session start and end included in the block). A peer's B block logs
``loss.item()`` every step into one run opened before the first block and closed
after the last (opening and closing are not timed). ``bare`` runs the same bare
loop as B: its ratio is the noise of the method.

``python benchmarks/bench_train.py VARIANT`` prints one row as JSON.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt, fmt_range, md_table, spread, target  # noqa: E402
import peers  # noqa: E402

NBM = {  # variant -> Session options
    "nbmonitor": {},
    "nbmonitor, meters off": {"meters": False},
    "nbmonitor, meters off, store off": {"meters": False, "store": False},
}
VARIANTS = ["bare", "loss.item()", *NBM, "livelossplot", "trackio", "tensorboard", "wandb",
            "aim", "mlflow"]
TARGET = 1.01


class _Loop:
    def __init__(self, threads: int) -> None:
        import torch
        torch.manual_seed(0)
        torch.set_num_threads(threads)
        self.torch = torch
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                         torch.nn.Linear(256, 10))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.batches = [(torch.randn(64, 784), torch.randint(0, 10, (64,)))
                        for _ in range(16)]
        self.step = 0

    def run(self, steps: int, log: Any = None, hook: Any = None) -> None:
        """``steps`` plain training steps; ``log(step, loss.item())`` after each if given;
        ``hook()`` between backward and the optimizer step if given."""
        model, opt, batches = self.model, self.opt, self.batches
        loss_fn = self.torch.nn.functional.cross_entropy
        for _ in range(steps):
            X, y = batches[self.step % 16]
            loss = loss_fn(model(X), y)
            opt.zero_grad()
            loss.backward()
            if hook is not None:
                hook()
            opt.step()
            self.step += 1
            if log is not None:
                log(self.step, loss.item())


def _block_b(variant: str, loop: _Loop, steps: int, logger: Any, tmp: str) -> float:
    t = time.perf_counter()
    if variant in NBM:
        import nbmonitor
        opts = {"store": Path(tmp) / "runs.db", **NBM[variant]}
        with nbmonitor.monitor(name="bench", frontend="text", source="import torch", **opts):
            loop.run(steps)
    elif variant == "bare":
        loop.run(steps)
    else:
        loop.run(steps, logger.log)
    return time.perf_counter() - t


def measure(variant: str, steps: int = 2000, pairs: int = 5, threads: int = 1,
            budget: float = 120.0, tmp: str | None = None) -> dict:
    """One variant's row: median (range) of B / A over up to ``pairs`` pairs."""
    tmp = tmp or tempfile.mkdtemp(prefix="nbm-bench-")
    loop = _Loop(threads)
    logger = None
    if variant == "loss.item()":
        logger = peers.Logger(lambda step, v: None, lambda: None)
    elif variant not in NBM and variant != "bare":
        logger = peers.open_logger(variant, tmp)
    loop.run(max(1, steps // 4))  # warm-up, both ways
    _block_b(variant, loop, max(1, steps // 4), logger, tmp)
    t0 = time.perf_counter()
    a, b, ratios = [], [], []
    for i in range(pairs):
        if i and time.perf_counter() - t0 > budget:
            break
        if i % 2 == 0:
            ta = _timed(loop, steps)
            tb = _block_b(variant, loop, steps, logger, tmp)
        else:
            tb = _block_b(variant, loop, steps, logger, tmp)
            ta = _timed(loop, steps)
        a.append(ta)
        b.append(tb)
        ratios.append(tb / ta)
    if logger is not None:
        logger.close()
    return {"variant": variant, "version": _version(variant), "ratio": spread(ratios),
            "bare_ms": statistics.median(a) / steps * 1e3,
            "monitored_ms": statistics.median(b) / steps * 1e3,
            "pairs": len(ratios), "steps": steps, "threads": threads}


def _timed(loop: _Loop, steps: int) -> float:
    t = time.perf_counter()
    loop.run(steps)
    return time.perf_counter() - t


def _version(variant: str) -> str:
    if variant in NBM:
        import nbmonitor
        return nbmonitor.__version__
    if variant in peers.PEERS:
        return peers.version(variant) or "-"
    return "-"


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table, with the 1.01x target for nbmonitor."""
    out = []
    for r in rows:
        if "ratio" not in r:
            out.append([r["variant"], r.get("version", "-"), "-", "-", "-", "-", "-",
                        r.get("note", "skipped")])
            continue
        tgt = target(r["ratio"]["median"], TARGET) if r["variant"].startswith("nbmonitor") else "-"
        out.append([r["variant"], r["version"], fmt_range(r["ratio"], 4), tgt,
                    fmt(r["bare_ms"]), fmt(r["monitored_ms"]),
                    f"{r['pairs']} x {r['steps']}", r.get("note", "")])
    head = ["variant", "version", "monitored / bare, median (range)", "target ≤ 1.01x",
            "bare ms/step", "monitored ms/step", "pairs x steps", "notes"]
    return md_table(head, out, "llrlrrll")


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], steps=int(sys.argv[2]) if len(sys.argv) > 2 else 300,
                             pairs=2)))
