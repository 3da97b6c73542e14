"""What monitoring costs a CUDA training loop, against what the peers pay.

Two models: the MLP of the CPU tables (784-256-10, batch 64, SGD, float32: a
loop bound by kernel launches, where host-side cost shows most) and a small
transformer encoder (4 layers, d_model 512, 8 heads, sequence 256, batch 32,
AdamW, bf16 autocast). Variants, in interleaved blocks of ``steps`` steps (each
round runs every variant once, the order reversed every other round):

- ``bare``: the plain loop; ``bare again`` is the same loop, its ratio to
  ``bare`` is the method's noise;
- ``nbmonitor``: the unchanged loop inside ``nbmonitor.monitor()`` with its
  defaults (hooks, the global gradient norm, meters with NVML, store), session
  start and exit per block; ``nbmonitor, watch off`` the same without the
  gradient norm (``watch="off"``), ``nbmonitor --watch`` with per-layer norms
  and update ratios every 50 steps (``watch=True``);
- ``loss.item()``: the loop reading its loss on the host every step, which every
  logging peer does (one host-device synchronization per step);
- ``tensorboard``: ``SummaryWriter.add_scalar("loss", loss.item(), step)``;
- ``lightning grad_norm``: Lightning's ``grad_norm(model, 2)`` before each
  optimizer step, as its ``on_before_optimizer_step`` recipe logs it (it builds
  its total with ``torch.tensor`` of the per-parameter norms: a host read).

Step times are CUDA event pairs around each step, read after the block; a
block's value is its median step. A variant's ratio per round is its block over
the ``bare`` block of that round; the table gives the median and range over the
rounds. ``--dry-run`` runs tiny sizes on the CPU (wall-clock steps) so the
script is exercised where there is no GPU.

``python benchmarks/gpu/bench_cuda.py --out DIR`` writes DIR/bench_cuda.json and
prints the markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import fmt, fmt_range, lightning_grad_norm, md_table, spread  # noqa: E402

NBM = {"nbmonitor, watch off": {"watch": "off"}, "nbmonitor": {},
       "nbmonitor --watch": {"watch": True, "watch_every": 50}}
VARIANTS = ["bare", "bare again", *NBM, "loss.item()", "tensorboard", "lightning grad_norm"]
SIZES = {  # model -> (full, dry run)
    "mlp": ({"steps": 400, "rounds": 5}, {"steps": 20, "rounds": 1}),
    "transformer": ({"steps": 100, "rounds": 5}, {"steps": 5, "rounds": 1}),
}


class Loop:
    """One model, its optimizer and fixed batches on ``device``."""

    def __init__(self, kind: str, device: str, dry: bool) -> None:
        import torch
        torch.manual_seed(0)
        self.torch, self.device, self.kind = torch, device, kind
        nn = torch.nn
        if kind == "mlp":
            self.model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
            self.batches = [(torch.randn(64, 784), torch.randint(0, 10, (64,)))
                            for _ in range(8)]
            self.autocast = False
        else:
            d, layers, seq, batch = (64, 1, 16, 4) if dry else (512, 4, 256, 32)
            layer = nn.TransformerEncoderLayer(d, 8, 4 * d, dropout=0.0, batch_first=True)
            self.model = nn.Sequential(nn.TransformerEncoder(layer, layers), nn.Linear(d, 10))
            self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
            self.batches = [(torch.randn(batch, seq, d), torch.randint(0, 10, (batch, seq)))
                            for _ in range(4)]
            self.autocast = True
        self.model.to(device)
        self.batches = [(x.to(device), y.to(device)) for x, y in self.batches]
        self.step = 0

    def one_step(self, before_step: Callable[[], Any] | None = None) -> Any:
        torch = self.torch
        X, y = self.batches[self.step % len(self.batches)]
        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.autocast):
            out = self.model(X)
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, 10).float(), y.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        if before_step is not None:
            before_step()
        self.opt.step()
        self.step += 1
        return loss


class Timer:
    """Per-step times: CUDA events on a GPU, ``perf_counter`` on the CPU."""

    def __init__(self, torch: Any, cuda: bool, steps: int) -> None:
        self.torch, self.cuda = torch, cuda
        self.marks: list[Any] = []

    def mark(self) -> None:
        if self.cuda:
            e = self.torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def step_ms(self) -> list[float]:
        if self.cuda:
            self.marks[-1].synchronize()
            return [a.elapsed_time(b) for a, b in zip(self.marks, self.marks[1:])]
        return [(b - a) * 1e3 for a, b in zip(self.marks, self.marks[1:])]


def _count(run: Any, name: str) -> int:
    return run.buffer.series(name).count if name in run.buffer else 0


def block(loop: Loop, variant: str, steps: int, cuda: bool, writer: Any,
          tmp: str) -> dict:
    """One block of ``steps`` steps of ``variant``: median step ms and extras."""
    timer = Timer(loop.torch, cuda, steps)
    after: Callable[[Any], None] | None = None
    before_step: Callable[[], Any] | None = None
    if variant == "loss.item()":
        after = lambda loss: loss.item()  # noqa: E731
    elif variant == "tensorboard":
        after = lambda loss: writer.add_scalar("loss", loss.item(), loop.step)  # noqa: E731
    elif variant == "lightning grad_norm":
        fn = lightning_grad_norm()
        before_step = lambda: fn(loop.model, norm_type=2)  # noqa: E731

    def steps_loop() -> None:
        timer.mark()
        for _ in range(steps):
            loss = loop.one_step(before_step)
            if after is not None:
                after(loss)
            timer.mark()

    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if variant in NBM:
        import nbmonitor
        with nbmonitor.monitor(name=f"bench-{loop.kind}", frontend="text",
                               store=os.path.join(tmp, "runs.db"),
                               source="import torch", **NBM[variant]) as run:
            t_in = time.perf_counter()
            steps_loop()
            t_body = time.perf_counter()
        t_out = time.perf_counter()
        extra = {"session_ms": ((t_in - t0) + (t_out - t_body)) * 1e3,
                 "recorded_losses": _count(run, "train/loss"),
                 "recorded_norms": _count(run, "grad/norm")}
    else:
        steps_loop()
    if cuda:
        loop.torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    ms = timer.step_ms()
    return {"median_ms": statistics.median(ms), "wall_ms_per_step": wall / steps * 1e3, **extra}


def measure(kind: str, steps: int, rounds: int, device: str, dry: bool) -> dict:
    """Every variant of one model, interleaved; ratios over each round's bare block."""
    import torch
    cuda = device == "cuda"
    loop = Loop(kind, device, dry)
    tmp = tempfile.mkdtemp(prefix="nbm-gpu-bench-")
    variants = list(VARIANTS)
    writer, notes = None, {}
    try:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(log_dir=os.path.join(tmp, "tb"))
    except Exception as e:  # tensorboard missing: that row says so
        variants.remove("tensorboard")
        notes["tensorboard"] = f"not run: {type(e).__name__}: {e}"
    if lightning_grad_norm() is None:
        variants.remove("lightning grad_norm")
        notes["lightning grad_norm"] = "not run: lightning not installed"
    for v in variants:  # warm-up: kernels, autotuning, the session's first imports
        block(loop, v, max(2, steps // 4), cuda, writer, tmp)
    blocks: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(rounds):
        for v in (variants if r % 2 == 0 else variants[::-1]):
            blocks[v].append(block(loop, v, steps, cuda, writer, tmp))
    if writer is not None:
        writer.close()
    rows = []
    for v in VARIANTS:
        if v not in blocks:
            rows.append({"variant": v, "note": notes.get(v, "not run")})
            continue
        ratios = [b["median_ms"] / a["median_ms"] for a, b in zip(blocks["bare"], blocks[v])]
        row = {"variant": v, "ratio": spread(ratios),
               "step_ms": statistics.median(b["median_ms"] for b in blocks[v]),
               "wall_ms_per_step": statistics.median(b["wall_ms_per_step"] for b in blocks[v])}
        if v in NBM:
            row["session_ms"] = statistics.median(b["session_ms"] for b in blocks[v])
            row["recorded_losses"] = [b["recorded_losses"] for b in blocks[v]]
            row["recorded_norms"] = [b["recorded_norms"] for b in blocks[v]]
        rows.append(row)
    return {"model": kind, "device": device, "steps": steps, "rounds": rounds,
            "timer": "CUDA events" if cuda else "perf_counter (dry run)",
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if cuda else None, "rows": rows}


def markdown(result: dict) -> str:
    """One model's rows as a markdown table."""
    out = []
    for r in result["rows"]:
        if "ratio" not in r:
            out.append([r["variant"], "-", "-", "-", r.get("note", "")])
            continue
        note = ""
        if r["variant"] in NBM:
            note = (f"session start + exit {fmt(r['session_ms'])} ms per block; "
                    f"losses recorded per block {r['recorded_losses']}, "
                    f"grad/norm {r['recorded_norms']}")
        out.append([r["variant"], fmt_range(r["ratio"], 4), fmt(r["step_ms"]),
                    fmt(r["wall_ms_per_step"]), note])
    head = ["variant", "step time / bare, median (range)", "median step ms (events)",
            "wall ms/step (block)", "notes"]
    title = (f"**{result['model']}** on {result['gpu'] or result['device']}, "
             f"{result['rounds']} rounds x {result['steps']} steps, {result['timer']}")
    return title + "\n\n" + md_table(head, out, "lrrrl")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build/gpu-out", help="folder for bench_cuda.json")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU")
    ap.add_argument("--models", default="mlp,transformer")
    args = ap.parse_args(argv)
    import torch
    device = "cuda" if torch.cuda.is_available() and not args.dry_run else "cpu"
    if device == "cpu" and not args.dry_run:
        print("error: no CUDA device (use --dry-run for the CPU smoke run)", file=sys.stderr)
        return 2
    results = []
    for kind in args.models.split(","):
        size = SIZES[kind][1 if args.dry_run else 0]
        t = time.perf_counter()
        res = measure(kind, size["steps"], size["rounds"], device, args.dry_run)
        res["seconds"] = round(time.perf_counter() - t, 1)
        results.append(res)
        print(markdown(res) + "\n", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_cuda.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
