"""The instruction-counting machinery of benchmarks/bench_instructions.py, on a
tiny program (the full benchmark runs torch under valgrind for minutes)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_instructions as bi  # noqa: E402

needs_valgrind = pytest.mark.skipif(
    not (shutil.which("valgrind") and shutil.which("cc")
         and Path("/usr/include/valgrind/callgrind.h").exists()),
    reason="needs valgrind with its headers and a C compiler")


@needs_valgrind
def test_segments_are_counted_per_thread_and_repeat_exactly(tmp_path):
    shim = bi.build_shim(tmp_path)
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(f"""
        import ctypes, threading
        lib = ctypes.CDLL({str(shim)!r})
        lib.nbm_start()
        def noop(**kw): pass
        def seg(name, n, fn):
            lib.nbm_zero()
            for _ in range(n): fn(loss=0.5)
            lib.nbm_dump(name.encode())
        busy = threading.Thread(target=lambda: sum(range(10**6)))
        busy.start()
        seg("calls a", 5000, noop)
        seg("calls b", 5000, noop)
        busy.join()
        seg("calls x2", 10000, noop)
    """))
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    "--separate-threads=yes", f"--callgrind-out-file={tmp_path}/cg.%p",
                    sys.executable, str(prog)], check=True, capture_output=True, timeout=300)
    counts, files = bi._counts(tmp_path)
    assert set(counts) == {"calls a", "calls b", "calls x2"}
    a, b, x2 = counts["calls a"], counts["calls b"], counts["calls x2"]
    assert abs(a - b) / a < 0.01, "the same work counts the same"
    assert x2 / a == pytest.approx(2, rel=0.02), "twice the work, twice the count"
    assert a / 5000 < 5000, "the busy thread's instructions are not the main thread's"
    top = bi.where(files, "calls x2", "calls a", 5000)
    assert top and all(isinstance(v, int) for _, v in top)


def test_background_threads_are_measured_by_name():
    res = bi.threads(seconds=1.0)
    cpu = res["cpu_s_per_s"]
    assert {"main (training)", "nbmonitor-refresh", "nbmonitor-sampler",
            "nbmonitor-store"} <= set(cpu)
    assert cpu["main (training)"] > 0.05  # the training thread was busy
    assert all(v >= 0 for v in cpu.values())
    md = bi.markdown({"instructions": {"note": "not measured: test"},
                      "native": {"bare_step_us": 1.0, "call_iteration_ns": 1.0},
                      "threads": res})
    assert "background threads together" in md and "not measured: test" in md
