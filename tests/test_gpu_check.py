"""The GPU check script, dry-run on the CPU so it cannot rot between GPU loans.

``make test`` builds ``build/gpu-wheels`` first (``make gpu-wheels``); run alone,
the module builds them itself (a registry must be reachable then).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELS = ROOT / "build" / "gpu-wheels"
sys.path.insert(0, str(ROOT / "benchmarks" / "gpu"))

import wheels as gpu_wheels  # noqa: E402


@pytest.fixture(scope="module")
def wheel_dir() -> Path:
    if not (WHEELS / "MANIFEST.txt").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "wheels.py"),
                        str(WHEELS)], check=True, timeout=600)
    return WHEELS


def dry_run(out: Path, wheels: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable,
               NBMONITOR_GPU_WHEELS=str(wheels))
    env.pop("PYTHONPATH", None)  # the script sets it: the checkout, then the wheels
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "check.sh"), "--dry-run"],
                          env=env, capture_output=True, text=True, timeout=300)


def raw_numbers(md: str) -> dict:
    return json.loads(md.split("```json", 1)[1].split("```", 1)[0])


def test_wheel_folder_is_small_complete_and_single_versioned(wheel_dir):
    files = sorted(wheel_dir.glob("*.whl"))
    names = [gpu_wheels.parse_wheel_filename(p.name)[0] for p in files]
    assert len(names) == len(set(names)), "two versions of one package stop the install"
    total = sum(p.stat().st_size for p in files) / 1e6
    assert total < gpu_wheels.LIMIT_MB
    assert f"{total:.2f} MB  total" in (wheel_dir / "MANIFEST.txt").read_text()
    needed = {"nbmonitor", "ipython", "ipykernel", "ipywidgets", "bqplot", "traitlets",
              "optuna", "pyzmq", "jupyter-client", "comm"}
    assert needed <= set(names)
    assert not set(names) & gpu_wheels.DEVICE, "the device has these already"
    for p in files:  # each installs on CPython 3.12 manylinux x86_64
        tags = p.name[:-4].split("-")[-3:]
        assert tags[0] in ("py3", "py2.py3") or "cp312" in tags[0] or tags[1] == "abi3", p.name
        assert tags[2] == "any" or "x86_64" in tags[2], p.name


def test_requirements_are_read_for_the_device_python():
    env = gpu_wheels.target_environment()
    reqs = ['exceptiongroup; python_version < "3.11"', 'pexpect>4.3; sys_platform != "win32"',
            'colorama; sys_platform == "win32"', "tomli; python_version < '3.12'",
            'pytest; extra == "test"', "traitlets>=5.4"]
    names = [r.name for r in gpu_wheels.needs(reqs, set(), env)]
    assert names == ["pexpect", "traitlets"]
    assert [r.name for r in gpu_wheels.needs(reqs, {"test"}, env)] == [
        "pexpect", "pytest", "traitlets"]


def test_dry_run_installs_the_wheels_skips_gpu_tests_and_benchmarks_on_cpu(wheel_dir,
                                                                          tmp_path):
    proc = dry_run(tmp_path / "out", wheel_dir)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    md = (tmp_path / "out" / "gpu-results.md").read_text()
    assert md.startswith("# nbmonitor GPU check (dry run on the CPU)")
    assert "all steps passed" in md
    n = len(list(wheel_dir.glob("*.whl")))
    assert f"passed: {n} of {n} wheels installed; imports ok" in md
    raw = raw_numbers(md)
    assert raw["ok"] and raw["dry_run"] and raw["install"] == "passed"
    # Every GPU test was collected and skipped for want of CUDA, none errored.
    m = re.match(r"(\d+) skipped", raw["tests"])
    assert m and int(m.group(1)) >= 5, raw["tests"]
    assert "needs a CUDA GPU" in md
    bench = {b["model"]: b for b in raw["bench"]}
    assert set(bench) == {"mlp", "transformer"}
    for model, b in bench.items():
        rows = {r["variant"]: r for r in b["rows"]}
        assert b["device"] == "cpu" and b["timer"].startswith("perf_counter")
        assert rows["bare"]["ratio"]["median"] == 1.0
        assert rows["nbmonitor"]["recorded_losses"] == [b["steps"]] * b["rounds"]
        assert rows["loss.item()"]["step_ms"] > 0
        assert "tensorboard" in rows  # measured, or a note saying why not
    assert (tmp_path / "out" / "gpu-check.log").stat().st_size > 0


def test_missing_wheels_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = dry_run(tmp_path / "out", tmp_path / "empty")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        proc.stderr.strip().splitlines()[0]]
    assert "no wheels in" in proc.stderr and "make gpu-wheels" in proc.stderr


def test_a_broken_wheel_fails_the_check_and_says_so(wheel_dir, tmp_path):
    broken = tmp_path / "wheels"
    broken.mkdir()
    for p in wheel_dir.glob("*.whl"):
        shutil.copy(p, broken / p.name)
    victim = next(broken.glob("traitlets-*.whl"))
    victim.write_bytes(victim.read_bytes()[:1000])  # truncated download
    proc = dry_run(tmp_path / "out", broken)
    assert proc.returncode == 1
    md = (tmp_path / "out" / "gpu-results.md").read_text()
    assert "**a step failed**" in md and "| wheels | failed" in md
