"""Every benchmark, side by side with the tools users would otherwise pick.

``python benchmarks/run.py`` runs the sections below, each measurement in its own
process with a time limit, prints progress on stderr and writes
``benchmarks/RESULTS.md``: the machine, then one table per section.

  log     per-scalar logging cost and RSS growth (bench_log.py)
  train   training slowdown of a CPU MLP (bench_train.py)
  long    long runs: memory and chart refresh (bench_long.py)
  store   SQLite store throughput and size (bench_store.py)
  open    opening a store, with and without PRAGMA quick_check (bench_open.py)
  keras   Model.fit with and without capture (bench_keras.py)
  meters  GPU/CPU meters' cost (bench_meters.py)
  inference  a watched model call against a bare one (bench_inference.py)
  postgres  3 workers' trials/s and points/s into PostgreSQL (bench_postgres.py)
  instructions  hooks, log and threads counted in instructions and CPU time
          (bench_instructions.py; callgrind, slow: minutes)
  watch   gradient norm and --watch on the training loop (bench_watch.py)

``--quick`` shrinks every size for a smoke run; ``--sections log,long`` and
``--peers none`` (or ``tensorboard,wandb``) select; ``--out`` writes elsewhere.
A peer that is not installed gets a row saying so (``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402

SECTIONS = ["log", "train", "long", "store", "open", "keras", "meters", "watch",
            "inference", "postgres", "instructions"]
SIZES = {  # quick, full
    "log": ({"budget": 3.0, "reps": 3, "max_calls": 200_000},
            {"budget": 20.0, "reps": 7, "max_calls": 1_000_000}),
    "train": ({"steps": 200, "pairs": 2, "threads": 1, "budget": 20.0},
              {"steps": 2000, "pairs": 5, "threads": 1, "budget": 120.0}),
    "long": ({"extend": 1_000_000, "log": 100_000, "refreshes": 10},
             {"extend": 10_000_000, "log": 1_000_000, "refreshes": 50}),
    "store": ({"cases": [(1, 100_000, True), (10, 10_000, True), (1, 30_000, False)]},
              {"cases": None}),
    "open": ({"sizes": [1_000_000]}, {"sizes": [1_000_000, 10_000_000, 50_000_000]}),
    "keras": ({"repeats": 1}, {"repeats": 7}),
    "meters": ({"pairs": 1, "steps": 100}, {"pairs": 5, "steps": 600}),
    "inference": ({"blocks": 3, "calls": 5_000, "memory_calls": 200_000},
                  {"blocks": 7, "calls": 20_000, "memory_calls": 2_000_000}),
    "postgres": ({"short_trials": 3, "long_trials": 1, "long_points": 10_000},
                 {"short_trials": 20, "long_trials": 2, "long_points": 100_000}),
    "instructions": ({"steps": 5, "calls": 2000, "seconds": 3.0},
                     {"steps": 30, "calls": 20000, "seconds": 10.0}),
    "watch": ({"steps": 200, "pairs": 2, "threads": 1, "budget": 20.0},
              {"steps": 600, "pairs": 9, "threads": 1, "budget": 45.0}),
}


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- one measurement in its own process -------------------------------------------
def worker(module: str, func: str, kwargs: dict, out: str) -> None:
    """Child side: ``module.func(**kwargs)`` as JSON into ``out``."""
    result = getattr(importlib.import_module(module), func)(**kwargs)
    Path(out).write_text(json.dumps(result))


def in_process(module: str, func: str, kwargs: dict, timeout: float) -> dict | list:
    """Parent side: run a worker with a time limit; a failure becomes ``{"note": ...}``."""
    tmp = tempfile.mkdtemp(prefix="nbm-bench-")
    out = os.path.join(tmp, "result.json")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        NBMONITOR_STORE=os.path.join(tmp, "runs.db"), TF_CPP_MIN_LOG_LEVEL="3",
        MPLBACKEND="Agg")
    if "tmp" in kwargs:
        kwargs = dict(kwargs, tmp=tmp)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", module, func,
           json.dumps(kwargs), out]
    log = open(os.path.join(tmp, "stderr.txt"), "w+")
    try:
        proc = subprocess.run(cmd, cwd=tmp, env=env, stdout=log, stderr=log,
                              timeout=timeout)
        if proc.returncode == 0 and os.path.exists(out):
            return json.loads(Path(out).read_text())
        log.seek(0)
        lines = [ln for ln in log.read().splitlines() if ln.strip()]
        return {"note": f"failed (exit {proc.returncode}): " + (lines[-1] if lines else "")}
    except subprocess.TimeoutExpired:
        return {"note": f"stopped after the {timeout:.0f} s limit"}
    finally:
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# -- sections -----------------------------------------------------------------
def _peer_list(selected: list[str] | None, names: list[str]) -> list[str]:
    base = [n for n in names if n.split("+")[0] in peers.PEERS]
    return base if selected is None else [n for n in base if n.split("+")[0] in selected]


def section_log(size: dict, selected: list[str] | None) -> str:
    import bench_log
    rows = []
    tools = [t for t in bench_log.TOOLS if t not in peers.CALLS]
    tools += _peer_list(selected, bench_log.TOOLS)
    for tool in tools:
        base = tool.split("+")[0]
        if base in peers.PEERS and not peers.available(base):
            rows.append({"tool": tool, "note": "not installed"})
            continue
        say(f"log: {tool}")
        kw = dict(size, name=tool, tmp=None)
        if tool == "livelossplot+send":  # one redraw takes ~0.1-0.3 s: fewer, bounded
            kw.update(reps=3, max_calls=300)
        r = in_process("bench_log", "measure", kw, timeout=2 * size["budget"] + 120)
        rows.append(dict(r, tool=tool) if "note" in r else r)
    return bench_log.markdown(rows)


def section_train(size: dict, selected: list[str] | None) -> str:
    import bench_train
    rows = []
    variants = [v for v in bench_train.VARIANTS if v not in peers.PEERS]
    variants += _peer_list(selected, bench_train.VARIANTS)
    for v in variants:
        if v in peers.PEERS and not peers.available(v):
            rows.append({"variant": v, "note": "not installed"})
            continue
        say(f"train: {v}")
        r = in_process("bench_train", "measure", dict(size, variant=v, tmp=None),
                       timeout=size["budget"] + 240)
        rows.append(dict(r, variant=v) if "note" in r else r)
    return bench_train.markdown(rows)


def section_long(size: dict, selected: list[str] | None) -> str:
    import bench_long
    rows = []
    # The store's peak is its writer's backlog (what a tight loop logs while a batch
    # is written): it follows the logging rate, not the run's length, so two lengths.
    for case, steps in (("extend", size["extend"]), ("log", size["log"]),
                        ("log+store", size["log"]), ("log+store", 3 * size["log"])):
        say(f"long: {case}, {steps:,} steps")
        r = in_process("bench_long", "measure",
                       {"case": case, "steps": steps, "refreshes": size["refreshes"]},
                       timeout=600)
        rows.append(dict(r, case=case) if "note" in r else r)
    return bench_long.markdown(rows)


def section_store(size: dict, selected: list[str] | None) -> str:
    say("store")
    if size["cases"] is None:
        rows = in_process("bench_store", "run", {}, timeout=900)
    else:
        rows = []
        for s, p, bulk in size["cases"]:
            rows.append(in_process("bench_store", "case",
                                   {"n_series": s, "n_points": p, "bulk": bulk}, timeout=300))
    if isinstance(rows, dict):
        return f"Not measured: {rows['note']}"
    from common import md_table
    cols = ["series", "points", "mode", "log_s", "total_s", "points_per_s", "bytes_per_point",
            "writer_ns_per_point"]
    return md_table(cols, [[f"{r[c]:,}" if isinstance(r.get(c), int) else r.get(c, r.get("note"))
                            for c in cols] for r in rows], "rrlrrrrr")


def section_open(size: dict, selected: list[str] | None) -> str:
    say("open")
    rows = in_process("bench_open", "run", {"sizes": size["sizes"]}, timeout=900)
    if isinstance(rows, dict):
        return f"Not measured: {rows['note']}"
    from common import md_table
    cols = ["points", "file_mb", "open_ms", "open_with_check_ms", "check_ms_per_100mb"]
    return md_table(cols, [[f"{r[c]:,}" if isinstance(r[c], int) else r[c] for c in cols]
                           for r in rows], "rrrrr")


def section_keras(size: dict, selected: list[str] | None) -> str:
    say("keras")
    rows = in_process("bench_keras", "run", size, timeout=300 + 120 * size["repeats"])
    if isinstance(rows, dict):
        return f"Not measured: {rows['note']}"
    import bench_keras
    return bench_keras.table(rows)


def section_meters(size: dict, selected: list[str] | None) -> str:
    say("meters")
    rows = in_process("bench_meters", "run", size, timeout=600)
    if isinstance(rows, dict):
        return f"Not measured: {rows['note']}"
    import bench_meters
    return bench_meters.markdown(rows)


def section_inference(size: dict, selected: list[str] | None) -> str:
    say("inference")
    result = in_process("bench_inference", "run", size, timeout=900)
    if "note" in result:
        return f"Not measured: {result['note']}"
    import bench_inference
    return bench_inference.markdown(result)


def section_postgres(size: dict, selected: list[str] | None) -> str:
    say("postgres")
    rows = in_process("bench_postgres", "run", size, timeout=1200)
    if isinstance(rows, dict):
        return f"Not measured: {rows['note']}"
    import bench_postgres
    return bench_postgres.markdown(rows)


def section_instructions(size: dict, selected: list[str] | None) -> str:
    say("instructions (callgrind)")
    res = in_process("bench_instructions", "run", size, timeout=3600)
    if "note" in res and "instructions" not in res:
        return f"Not measured: {res['note']}"
    import bench_instructions
    return bench_instructions.markdown(res)
def section_watch(size: dict, selected: list[str] | None) -> str:
    import bench_watch
    rows = []
    for variant, baseline in bench_watch.cases():
        why = bench_watch.available(variant)
        if why:
            rows.append({"variant": variant, "baseline": baseline, "note": why})
            continue
        say(f"watch: {variant} / {baseline}")
        r = in_process("bench_watch", "measure",
                       dict(size, variant=variant, baseline=baseline, tmp=None),
                       timeout=size["budget"] * 2 + 240)
        rows.append(dict(r, variant=variant, baseline=baseline) if "note" in r else r)
    return bench_watch.markdown(rows)


TEXT = {
    "open": ("Opening a store", "`benchmarks/bench_open.py`: a store of N random float64 "
             "points opened in a fresh `SqliteStore` with and without `PRAGMA quick_check` "
             "(run once per process and file before a run writes to it); median of 3 opens, "
             "page cache warm."),
    "log": ("Per-scalar logging cost",
            "One tool per process. Each call is `log(step, value)`, a lambda around the "
            "tool's own call (the floor is the same lambda around a no-op function), timed "
            "in blocks after a warm-up; median and range over the blocks. nbmonitor runs "
            "inside an active `nbmonitor.monitor()` session (text frontend, print capture "
            "off, meters on). RSS growth is the RSS after the timed blocks minus before, "
            "per million calls; for slow tools it is extrapolated from fewer calls (RSS "
            "moves in allocator-sized steps, so small counts are coarse). `close s` is the "
            "final flush (`finish`, `end_run`, session exit). The wandb service runs in its "
            "own process, whose memory is not counted."),
    "train": ("Training slowdown",
              "784-256-10 MLP, batch 64, SGD, synthetic data, CPU, `torch.set_num_threads` "
              "as shown. Bare (A) and monitored (B) blocks alternate in one process "
              "(A B, B A, ...); the value is the median of the per-pair ratios B/A, with "
              "their range. nbmonitor: the unchanged loop inside `nbmonitor.monitor()` "
              "(torch hooks; session start and end inside the timed block). Peers: "
              "`log(step, loss.item())` every step into one open run. `bare` is A against "
              "A (the method's noise); `loss.item()` is the cost of reading the loss "
              "alone, which every peer pays."),
    "long": ("Long runs",
             "Each case in its own process; peak RSS (`ru_maxrss`) minus the RSS just "
             "before the points arrive (for `nbmonitor.log`: inside the session, up to "
             "just before its exit; the session's start and exit are in the notes). "
             "`Series.extend` feeds the buffer alone. With the store on, the peak is the "
             "writer's backlog, the points a loop logging as fast as it can adds while a "
             "batch is drained and written (the writer shares the GIL with that loop): it "
             "follows the logging rate, not the run's length, hence two lengths. The "
             "refresh table: a `Dashboard` of real bqplot widgets on a recording comm; each "
             "refresh first appends one point to every series; bytes are the comm "
             "messages' JSON plus binary buffers."),
    "store": ("Store", "`benchmarks/bench_store.py`: points through the buffer, drain log, "
              "background writer and SQLite (WAL) until the final commit; bytes per point "
              "of the checkpointed, vacuumed file; writer CPU per point."),
    "keras": ("Keras", "`benchmarks/bench_keras.py`: `model.fit` bare and under "
              "`nbmonitor.monitor`, alternating; median of the pair ratios."),
    "meters": ("Meters", "`benchmarks/bench_meters.py`: the MLP with and without the "
               "meter sampler, interleaved, and the cost of one reading."),
    "inference": ("Watching a model in use",
                  "`benchmarks/bench_inference.py`: a 64x16 by 16x4 numpy model called bare, "
                  "through `nbmonitor.inference` (worker thread live) and instrumented by "
                  "hand with prometheus_client, in interleaved blocks; median and range of "
                  "the time per call. Then RSS growth over a long session of wrapped calls."),
    "postgres": ("PostgreSQL sweeps", "`benchmarks/bench_postgres.py`: a throwaway "
                 "PostgreSQL server (fsync on), a study and 3 `python -m nbmonitor.worker` "
                 "processes writing their runs into the same database; trials/s from the "
                 "first trial's start to the last one's end, points/s from the first run's "
                 "start to the last one's end, every stored point counted back."),
    "instructions": ("Overhead in instructions",
                     "`benchmarks/bench_instructions.py`: the training thread's CPU "
                     "instructions per MLP step bare and monitored (callgrind, counters "
                     "zeroed and dumped around each segment by client requests, main "
                     "thread only), `nbmonitor.log` against a bare call, the hook and log "
                     "paths piece by piece, and the background threads' CPU time per second of "
                     "training (native, `/proc/self/task/TID/schedstat`). Deterministic: "
                     "the two repeats of each segment agree to within 1,000 instructions per "
                     "step (0.01%), where wall-clock ratios here spread by tens of percent."),
    "watch": ("Watching the model", "`benchmarks/bench_watch.py`: the training MLP with "
              "the global gradient norm (default) and `--watch` (per layer every 50 steps) "
              "against the loop bare and against nbmonitor with `watch=\"off\"` (meters, "
              "store and print capture off), interleaved blocks timed in process CPU time, median "
              "of the pair ratios. "
              "Lightning's `grad_norm(model, 2)` every step and `wandb.watch(log=\"all\", "
              "log_freq=100)` where installed."),
}


GPU_RESULTS = HERE / "gpu" / "RESULTS.md"  # committed from a GPU machine's gpu-results.md
GPU_NOT_RUN = (
    "Not run on GPU hardware yet: no machine this benchmark ran on had a GPU. On one, "
    "`bash benchmarks/gpu/check.sh` (with `build/gpu-wheels` from `make gpu-wheels`; see "
    "docs/gpu.md) runs the `gpu` tests and `benchmarks/gpu/bench_cuda.py` (the MLP and a "
    "bf16 transformer on CUDA: bare, `nbmonitor.monitor()` defaults, with `watch=\"off\"` "
    "and with `watch=True`, `loss.item()` per step, TensorBoard `add_scalar(loss.item())`, "
    "Lightning's `grad_norm`; interleaved blocks, CUDA-event step "
    "times) and writes `$OUT/gpu-results.md`; copy it to `benchmarks/gpu/RESULTS.md` and "
    "this section shows it.")


def gpu_section() -> str:
    """The last GPU check's results, or how to get them."""
    if GPU_RESULTS.exists():
        body = GPU_RESULTS.read_text().split("\n", 1)[1].strip()  # without its title
        return f"## GPU (CUDA)\n\nFrom `benchmarks/gpu/RESULTS.md`.\n\n{body}"
    return f"## GPU (CUDA)\n\n{GPU_NOT_RUN}"


# -- the machine ----------------------------------------------------------------
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    import importlib.metadata  # noqa: F401
    import psutil
    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    rows = [("CPU", f"{cpu}, {psutil.cpu_count()} logical cores "
                    f"({psutil.cpu_count(logical=False)} physical)"),
            ("RAM", f"{psutil.virtual_memory().total / 2**30:.1f} GiB"),
            ("OS", platform.platform()),
            ("Python", platform.python_version()),
            ("nbmonitor", f"{_version('nbmonitor')} ({commit})")]
    rows += [(d, _version(d)) for d in ("torch", "numpy", "bqplot", "ipywidgets", "keras",
                                        "tensorflow-cpu")]
    for name, (dist, _) in peers.PEERS.items():
        v = _version(dist)
        rows.append((f"peer: {name}", v if name != "mlflow" else f"{dist} {v}"))
    from common import md_table
    return md_table(["", ""], [list(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--peers", default="all", help="all, none, or a comma list")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--label", default="", help="a line to put under the title")
    args = ap.parse_args(argv)
    if args.worker:
        module, func, kwargs, out = args.worker
        worker(module, func, json.loads(kwargs), out)
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    selected = (None if args.peers == "all" else
                [] if args.peers == "none" else args.peers.split(","))
    t0 = time.time()
    load0 = os.getloadavg()
    parts = []
    for s in sections:
        size = SIZES[s][0 if args.quick else 1]
        ts = time.time()
        body = globals()[f"section_{s}"](dict(size), selected)
        title, method = TEXT[s]
        parts.append(f"## {title}\n\n{method}\n\n{body}\n\n"
                     f"_Section time: {time.time() - ts:.0f} s._")
        say(f"{s} done in {time.time() - ts:.0f} s")
    parts.append(gpu_section())
    load1 = os.getloadavg()
    mode = "quick run (--quick: small sizes)" if args.quick else "full run"
    head = [f"# nbmonitor benchmarks", "",
            f"Written by `benchmarks/run.py` ({mode}) on {time.strftime('%Y-%m-%d %H:%M')}"
            f" in {time.time() - t0:.0f} s; 1-minute load average {load0[0]:.2f} at the "
            f"start, {load1[0]:.2f} at the end. Sections: {', '.join(sections)}; peers: "
            f"{args.peers}.", ""]
    if args.label:
        head += [f"**{args.label}**", ""]
    head += ["## Machine", "", machine(), ""]
    Path(args.out).write_text("\n".join(head) + "\n" + "\n\n".join(parts) + "\n")
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
