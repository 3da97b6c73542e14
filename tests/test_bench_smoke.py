"""``benchmarks/run.py --quick`` runs end to end and writes its markdown tables
(the sections that need no peer; the numbers themselves are not checked)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.framework

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.mark.timeout(120)
def test_quick_run_writes_results(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--sections", "log,long,store", "--peers",
         "none", "--out", str(out), "--label", "smoke test"],
        cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert "## Machine" in text and "smoke test" in text
    for title in ("## Per-scalar logging cost", "## Long runs", "## Store"):
        assert title in text
    assert "| floor | plain Python function call |" in text
    assert "| nbmonitor | nbmonitor.log(loss=v), store off |" in text
    assert "| Series.extend, chunks of 100,000 |" in text
    assert "failed" not in text and "stopped after" not in text
    assert "[bench" in proc.stderr  # progress lines
