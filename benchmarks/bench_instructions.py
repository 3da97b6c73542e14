"""Overhead counted, not timed: CPU instructions of the training thread, and the
background threads' CPU time per second of training.

Wall-clock ratios on a shared 2-core machine cannot resolve a 1% overhead (the
training table's own bare-against-bare row spans 0.83-1.73). Instructions can:

- **Training thread** (``instructions()``): one child process runs under
  ``valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no``. A tiny C
  shim built here (``valgrind/callgrind.h``, loaded with ctypes) zeroes and dumps
  the counters around each segment, so imports and warm-up are not counted and each
  segment is read for the main thread alone. Segments: the CPU MLP of the training
  table (784-256-10, batch 64, SGD, one torch thread) bare, inside
  ``nbmonitor.monitor()`` with its defaults, and with meters and store off (hooks
  alone), each twice (the repeat shows how exact the counts are); ``nbmonitor.log``
  against a bare Python call of the same shape; and the pieces of the hook path.
  Session start and exit are outside the segments.
- **Time equivalents**: the same process shapes timed natively (median of blocks):
  a bare MLP step, and a loop of bare Python calls whose nanoseconds per
  instruction convert the hooks' interpreter instructions into microseconds.
- **Background threads** (``threads()``): a native default session (text
  frontend) around the MLP for ``seconds``; each thread's CPU from
  ``/proc/self/task/TID/schedstat`` (nanoseconds) per second of training.

Targets (issue 17): hooks at most 5 µs and 1% of the MLP step; background threads
at most 2% of one core; ``nbmonitor.log`` at most 5x a bare call per scalar.
``python benchmarks/bench_instructions.py`` prints the tables.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import fmt, md_table, target  # noqa: E402

SHIM = r"""
#include <valgrind/callgrind.h>
void nbm_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void nbm_zero(void) { CALLGRIND_ZERO_STATS; }
void nbm_dump(const char *what) { CALLGRIND_DUMP_STATS_AT(what); }
int nbm_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
"""
HOOK_US, HOOK_SHARE, THREADS_SHARE, LOG_RATIO = 5.0, 0.01, 0.02, 5.0


# -- the loop ---------------------------------------------------------------------
class Mlp:
    """The training table's MLP on the CPU, one torch thread."""

    def __init__(self) -> None:
        import torch
        torch.manual_seed(0)
        torch.set_num_threads(1)
        self.torch = torch
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                         torch.nn.Linear(256, 10))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.batches = [(torch.randn(64, 784), torch.randint(0, 10, (64,)))
                        for _ in range(8)]
        self.i = 0

    def run(self, steps: int) -> None:
        model, opt, batches = self.model, self.opt, self.batches
        loss_fn = self.torch.nn.functional.cross_entropy
        for _ in range(steps):
            X, y = batches[self.i % 8]
            loss = loss_fn(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.i += 1


def _session(**opts: Any) -> Any:
    import nbmonitor
    return nbmonitor.monitor(name="instructions", frontend="text", source="import torch",
                             **opts)


def _noop(**kw: Any) -> None:
    pass


# -- child: runs under callgrind -------------------------------------------------------
def child(shim: str, steps: int, calls: int) -> None:
    """The segments, each between a zero and a dump of the callgrind counters."""
    lib = ctypes.CDLL(shim)
    import nbmonitor

    def segment(name: str, fn: Callable[[], None]) -> None:
        lib.nbm_zero()
        fn()
        lib.nbm_dump(name.encode())

    if steps:  # steps=0: nbmonitor.log alone (no torch; a quick look)
        mlp = Mlp()
        mlp.run(20)
        store = os.path.join(tempfile.mkdtemp(prefix="nbm-instr-"), "runs.db")
        with _session(store=store):
            mlp.run(20)
    lib.nbm_start()
    for rep in (1, 2) if steps else ():
        mlp.run(5)
        segment(f"bare {rep}", lambda: mlp.run(steps))
        with _session(store=store):
            mlp.run(2)
            segment(f"monitored {rep}", lambda: mlp.run(steps))
        with _session(meters=False, store=False):
            mlp.run(2)
            segment(f"hooks {rep}", lambda: mlp.run(steps))

    log, v = nbmonitor.log, 0.5

    def loop_log() -> None:
        for _ in range(calls):
            log(loss=v)

    def loop_call() -> None:
        f = _noop
        for _ in range(calls):
            f(loss=v)

    def loop_empty() -> None:
        for _ in range(calls):
            pass

    with _session(store=False):
        for rep in (1, 2):
            segment(f"log {rep}", loop_log)
            segment(f"call {rep}", loop_call)
            segment(f"empty {rep}", loop_empty)
        # The pieces of nbmonitor.log's path, each ``calls // 10`` times.
        n, tt, stage = calls // 10, time.time, []

        def sig(step: Any = None, **metrics: Any) -> None:
            pass

        for name, fn in {
                "log's signature `(step=None, **metrics)`, empty body":
                    lambda: [sig(loss=v) for _ in range(n)],
                "time.time()": lambda: [tt() for _ in range(n)],
                "stage.extend((step, value, t))": lambda: [stage.extend((1, v, 2.0))
                                                           for _ in range(n)],
                "empty list comprehension": lambda: [None for _ in range(n)]}.items():
            segment(f"piece {name}", fn)
    if not steps:
        return
    # The pieces of the hook path, each ``calls // 10`` times.
    torch = mlp.torch
    loss = torch.nn.functional.cross_entropy(mlp.model(mlp.batches[0][0]), mlp.batches[0][1])
    with _session(meters=False, store=False) as run:
        import torch.optim.optimizer as oo
        pre = list(oo._global_optimizer_pre_hooks.values())[0]
        post = list(oo._global_optimizer_post_hooks.values())[0]
        mlp.run(1)
        buf = run.buffer
        pieces = {
            "loss.detach()": lambda: [loss.detach() for _ in range(n)],
            "float(loss)": lambda: [float(loss) for _ in range(n)],
            "buffer.append(name, step, value)": lambda: [buf.append("x", 1, 0.5)
                                                         for _ in range(n)],
            "pre-step hook": lambda: [pre(mlp.opt, (), {}) for _ in range(n)],
            "post-step hook (lr only)": lambda: [post(mlp.opt, (), {}) for _ in range(n)],
        }
        for name, fn in pieces.items():
            segment(f"piece {name}", fn)


def _counts(folder: Path) -> tuple[dict[str, int], dict[str, Path]]:
    """Main-thread instructions of each named dump in ``folder``, and its file."""
    out, files = {}, {}
    for f in folder.glob("cg.*"):
        head = f.read_text(errors="replace")[:4000]
        thread = re.search(r"^thread: (\d+)", head, re.M)
        desc = re.search(r"^desc: Trigger: Client Request: (.*)$", head, re.M)
        total = re.search(r"^summary: (\d+)", head, re.M)
        if desc and total and (thread is None or thread.group(1) == "1"):
            out[desc.group(1).strip()] = int(total.group(1))
            files[desc.group(1).strip()] = f
    return out, files


_ANNOTATED = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)(?:\s+\[[^\]]*\])?\s*$")


def by_function(path: Path) -> dict[str, int]:
    """Self instructions per C function of one dump (``callgrind_annotate``)."""
    proc = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                           str(path)], capture_output=True, text=True)
    out: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        m = _ANNOTATED.match(line)
        if m and ":" in m.group(2):
            name = m.group(2).split(":", 1)[1]
            out[name] = out.get(name, 0) + int(m.group(1).replace(",", ""))
    return out


def where(files: dict[str, Path], seg: str, base: str, per: int, top: int = 8) -> list:
    """The C functions whose instructions grew most from ``base`` to ``seg``, per unit."""
    if seg not in files or base not in files or shutil.which("callgrind_annotate") is None:
        return []
    a, b = by_function(files[seg]), by_function(files[base])
    delta = {k: (a.get(k, 0) - b.get(k, 0)) / per for k in set(a) | set(b)}
    return sorted(([k, round(v)] for k, v in delta.items()), key=lambda kv: -kv[1])[:top]


def build_shim(folder: Path) -> Path:
    """Compile the client-request shim (needs cc and valgrind's headers)."""
    src = folder / "shim.c"
    src.write_text(SHIM)
    lib = folder / "shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(lib), str(src)], check=True,
                   capture_output=True, text=True)
    return lib


def instructions(steps: int = 30, calls: int = 20000) -> dict:
    """Counts per segment from one callgrind run of :func:`child`."""
    if shutil.which("valgrind") is None or shutil.which("cc") is None:
        return {"note": "not measured: needs valgrind and a C compiler"}
    tmp = Path(tempfile.mkdtemp(prefix="nbm-callgrind-"))
    try:
        shim = build_shim(tmp)
    except subprocess.CalledProcessError as e:
        return {"note": f"not measured: the callgrind shim did not build: {e.stderr.strip()}"}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE),
                                           os.environ.get("PYTHONPATH", "")]).rstrip(":"))
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
           f"--callgrind-out-file={tmp}/cg.%p", sys.executable, str(Path(__file__).resolve()),
           "--child", str(shim), str(steps), str(calls)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
    seconds = time.perf_counter() - t
    counts, files = _counts(tmp)
    profile = {"hooks": where(files, "hooks 1", "bare 1", steps),
               "log": where(files, "log 1", "call 1", calls)}
    shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0 or not counts:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("==")]
        return {"note": f"callgrind run failed (exit {proc.returncode}): "
                        + (tail[-1] if tail else "")}
    return {"counts": counts, "steps": steps, "calls": calls, "profile": profile,
            "seconds_under_valgrind": round(seconds, 1)}


# -- native: time equivalents and background threads -----------------------------------
def _median_block(fn: Callable[[], None], blocks: int = 7) -> float:
    times = []
    for _ in range(blocks):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def native(steps: int = 200, calls: int = 200_000) -> dict:
    """Median µs of a bare MLP step and ns of one bare-call loop iteration."""
    mlp = Mlp()
    mlp.run(50)
    step_us = _median_block(lambda: mlp.run(steps)) / steps * 1e6
    f, v = _noop, 0.5

    def loop_call() -> None:
        for _ in range(calls):
            f(loss=v)

    call_ns = _median_block(loop_call) / calls * 1e9
    return {"bare_step_us": step_us, "call_iteration_ns": call_ns}


def _task_cpu_ns(tid: int) -> int | None:
    try:
        return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        try:  # no schedstat: utime + stime in clock ticks
            f = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None


def threads(seconds: float = 10.0) -> dict:
    """CPU per second of training of each thread, in a default session (text frontend)."""
    import threading
    mlp = Mlp()
    mlp.run(50)
    store = os.path.join(tempfile.mkdtemp(prefix="nbm-threads-"), "runs.db")
    with _session(store=store):
        mlp.run(5)
        tids = {t.name: t.native_id for t in threading.enumerate()
                if t.name.startswith("nbmonitor") or t is threading.main_thread()}
        before = {n: _task_cpu_ns(tid) for n, tid in tids.items()}
        t0 = time.perf_counter()
        steps = 0
        while time.perf_counter() - t0 < seconds:
            mlp.run(50)
            steps += 50
        wall = time.perf_counter() - t0
        after = {n: _task_cpu_ns(tid) for n, tid in tids.items()}
    per_s = {("main (training)" if n == "MainThread" else n):
             (after[n] - before[n]) / 1e9 / wall
             for n in tids if before[n] is not None and after[n] is not None}
    return {"cpu_s_per_s": per_s, "wall_s": wall, "steps": steps,
            "source": "schedstat" if Path("/proc/self/schedstat").exists() else "stat"}


# -- all together -----------------------------------------------------------------------
def run(steps: int = 30, calls: int = 20000, seconds: float = 10.0) -> dict:
    """Every measurement of this file, as one JSON-able dict."""
    return {"instructions": instructions(steps, calls), "native": native(),
            "threads": threads(seconds), "date": time.strftime("%Y-%m-%d")}


def summarize(res: dict) -> dict:
    """Per-step and per-call numbers, and the targets, from :func:`run`'s result."""
    ins, nat = res["instructions"], res["native"]
    out: dict[str, Any] = {}
    if "counts" in ins:
        c, steps, calls = ins["counts"], ins["steps"], ins["calls"]
        per = {k: c[k] / steps for k in sorted(c) if k.split()[0] in ("bare", "monitored",
                                                                       "hooks")}
        call_instr = statistics.mean(c[f"call {r}"] for r in (1, 2)) / calls
        empty_instr = statistics.mean(c[f"empty {r}"] for r in (1, 2)) / calls
        log_instr = statistics.mean(c[f"log {r}"] for r in (1, 2)) / calls
        ns_per_instr = nat["call_iteration_ns"] / call_instr
        bare = statistics.mean(per[f"bare {r}"] for r in (1, 2))
        out["per_step"] = per
        out["ns_per_instruction"] = ns_per_instr
        out["hooks"] = {}
        for kind in ("monitored", "hooks"):
            added = statistics.mean(per[f"{kind} {r}"] for r in (1, 2)) - bare
            us = added * ns_per_instr / 1e3
            out["hooks"][kind] = {"added_instr": added, "instr_share": added / bare,
                                  "us": us, "time_share": us / nat["bare_step_us"]}
        out["bare_instr"] = bare
        out["log"] = {"log": log_instr - empty_instr, "call": call_instr - empty_instr,
                      "loop": empty_instr,
                      "ratio": (log_instr - empty_instr) / (call_instr - empty_instr),
                      "ratio_with_loop": log_instr / call_instr}
        n = calls // 10
        empty_piece = c["piece empty list comprehension"] / n
        pieces = {k[len("piece "):]: v / n - empty_piece for k, v in c.items()
                  if k.startswith("piece ") and k != "piece empty list comprehension"}
        out["pieces"] = dict(sorted(pieces.items(), key=lambda kv: -kv[1]))
    out["threads"] = res["threads"]["cpu_s_per_s"]
    return out


def markdown(res: dict) -> str:
    """The result as markdown tables, with the targets."""
    s = summarize(res)
    ins, nat = res["instructions"], res["native"]
    parts = []
    if "note" in ins:
        parts.append(f"Instructions: {ins['note']}.")
    else:
        rows = []
        for name, v in s["per_step"].items():
            rows.append([name, f"{v:,.0f}"])
        parts.append(f"Main-thread instructions per MLP step ({ins['steps']} steps per "
                     f"segment, callgrind, {ins['seconds_under_valgrind']:.0f} s under "
                     "valgrind):\n\n" + md_table(["segment", "instructions per step"], rows,
                                                 "lr"))
        rows = []
        for kind, label in (("monitored", "nbmonitor defaults (meters, store)"),
                            ("hooks", "hooks alone (meters and store off)")):
            h = s["hooks"][kind]
            rows.append([label, f"{h['added_instr']:,.0f}", f"{h['instr_share'] * 100:.2f}%",
                         fmt(h["us"]), target(h["us"], HOOK_US),
                         f"{h['time_share'] * 100:.2f}%", target(h["time_share"], HOOK_SHARE)])
        parts.append(
            "Added per step over bare (mean of the two repeats). µs are the instructions "
            f"times {s['ns_per_instruction']:.3f} ns, the native cost of one instruction "
            f"of a bare Python call loop; the native bare step took {nat['bare_step_us']:.0f} "
            "µs.\n\n" + md_table(
                ["variant", "instructions / step", "of the bare step's", "≈ µs / step",
                 "target ≤ 5 µs", "≈ share of the step's time", "target ≤ 1%"],
                rows, "lrrrlrl"))
        lg = s["log"]
        parts.append(md_table(
            ["per scalar", "instructions", "vs bare call", f"target ≤ {LOG_RATIO:.0f}x"],
            [["bare Python call `f(loss=v)`", f"{lg['call']:,.0f}", "1x", "-"],
             ["`nbmonitor.log(loss=v)` (store off)", f"{lg['log']:,.0f}",
              f"{lg['ratio']:.2f}x", target(lg["ratio"], LOG_RATIO)],
             ["the same with the `for` loop's own cost in both", "-",
              f"{lg['ratio_with_loop']:.2f}x", "-"]], "lrrl"))
        parts.append("The hook and log paths, piece by piece (instructions per call, loop cost "
                     "removed):\n\n" + md_table(
                         ["piece", "instructions"],
                         [[k, f"{v:,.0f}"] for k, v in s["pieces"].items()], "lr"))
        for key, label in (("hooks", "per step, hooks alone over bare"),
                           ("log", "per scalar, `nbmonitor.log` over the bare call")):
            rows = [[f"`{name}`", f"{v:,}"] for name, v in ins.get("profile", {}).get(key, [])]
            if rows:
                parts.append(f"Where the added instructions go ({label}; C functions by "
                             "self cost, `callgrind_annotate`; `_PyEval_EvalFrameDefault` is the "
                             "bytecode interpreter, and so is the `ceval.c` code that some "
                             "CPython builds' debug info files under `_PyObject_MakeTpCall`):"
                             "\n\n"
                             + md_table(["function", "instructions"], rows, "lr"))
    th = res["threads"]
    rows = [[n, f"{v * 1e3:.2f}", f"{v * 100:.3f}%"] for n, v in s["threads"].items()]
    bg = sum(v for n, v in s["threads"].items() if n.startswith("nbmonitor"))
    rows.append(["background threads together", f"{bg * 1e3:.2f}", f"{bg * 100:.3f}% "
                 f"(target ≤ 2%: {target(bg, THREADS_SHARE)})"])
    parts.append(f"CPU per second of training, per thread ({th['wall_s']:.1f} s, "
                 f"{th['steps']:,} MLP steps, default session, text frontend, "
                 f"/proc/self/task/TID/{th['source']}):\n\n"
                 + md_table(["thread", "CPU ms per s", "of one core"], rows, "lrr"))
    return "\n\n".join(parts)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        result = run()
        print(markdown(result))
        print("\n```json\n" + json.dumps(result, indent=1) + "\n```")
