"""The one results file of ``benchmarks/gpu/check.sh``: markdown with the raw
numbers as a JSON block at the end, printed on stdout."""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path


def gpu_line() -> str:
    """What ``nvidia-smi`` says about the GPUs, or why it can't."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                              "power.limit,clocks.max.sm", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip() or out.stderr.strip() or "nvidia-smi printed nothing"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"no nvidia-smi ({type(e).__name__})"


def torch_line() -> str:
    try:
        import torch
    except ImportError:
        return "torch not installed"
    cuda = torch.version.cuda or "none"
    return f"torch {torch.__version__}, CUDA {cuda}, available {torch.cuda.is_available()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    for name in ("dry", "install", "imports", "tests-rc", "tests-line", "pytest", "bench-rc",
                 "bench-md", "bench-json"):
        ap.add_argument("--" + name, default="")
    a = ap.parse_args(argv)
    dry = a.dry == "1"
    pytest_text = Path(a.pytest).read_text() if Path(a.pytest).exists() else ""
    bench_md = Path(a.bench_md).read_text() if Path(a.bench_md).exists() else ""
    bench = json.loads(Path(a.bench_json).read_text()) if Path(a.bench_json).exists() else None
    ok = (a.install == "passed" and a.tests_rc == "0" and a.bench_rc == "0"
          and not any(w in a.tests_line for w in ("failed", "error", "no summary")))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"# nbmonitor GPU check{' (dry run on the CPU)' if dry else ''}", "",
             f"{when}; {'all steps passed' if ok else '**a step failed**'}.", "",
             "| | |", "|---|---|",
             f"| GPU | {gpu_line()} |", f"| torch | {torch_line()} |",
             f"| Python | {platform.python_version()} on {platform.platform()} |",
             f"| wheels | {a.install}: {a.imports} |",
             f"| GPU tests | {a.tests_line} (pytest exit {a.tests_rc}) |",
             f"| benchmark | exit {a.bench_rc} |", "",
             "## GPU tests", "", "```", *pytest_text.strip().splitlines()[-40:], "```", "",
             "## Benchmark (benchmarks/gpu/bench_cuda.py)", "",
             bench_md.strip() or "No table: the benchmark failed (see gpu-check.log).", "",
             "## Raw numbers", "", "```json",
             json.dumps({"when": when, "dry_run": dry, "ok": ok, "install": a.install,
                         "imports": a.imports, "tests": a.tests_line,
                         "tests_rc": int(a.tests_rc or -1), "bench_rc": int(a.bench_rc or -1),
                         "bench": bench}, indent=1), "```"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
