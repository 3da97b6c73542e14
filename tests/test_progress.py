"""The text frontend: a ``\\r`` line on a terminal only; plain lines into pipes."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

from nbmonitor.progress import TextProgress
from nbmonitor.run import Run


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_every_interval_and_at_the_end():
    run, out, clock = Run("p"), io.StringIO(), Clock()
    view = TextProgress(run, out, tty=False, clock=clock)
    for i in range(30):
        run.step = i
        run.log("loss", 1 / (i + 1), step=i)
        clock.t = i * 1.0
        view.refresh(12.5)
    run.finish("finished")
    view.close("summary")
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 3 + 1 + 1  # t=0, 10, 20; the final line; the summary
    assert "12.5 it/s" in lines[1] and "<" not in text and "epoch" not in text
    assert lines[-1] == "summary" and "finished" in lines[-2]


def test_rate_and_eta_only_once_known():
    run = Run("r", total_steps=100)
    view = TextProgress(run, io.StringIO(), tty=True)
    assert "it/s" not in view.line(0.0) and "left" not in view.line(0.0)
    run.step = 10
    assert "4.0 it/s" in view.line(4.0) and "00:22 left" in view.line(4.0)
    run.set_epoch(1)
    assert "epoch 1" in view.line(4.0)


def test_terminal_redraws_in_place():
    out = io.StringIO()
    view = TextProgress(Run("t"), out, tty=True)
    view.refresh(1.0)
    view.refresh(1.0)
    assert out.getvalue().count("\r") == 2 and "\n" not in out.getvalue()


def test_no_carriage_return_into_a_pipe():
    script = textwrap.dedent("""
        import nbmonitor, time
        with nbmonitor.monitor("piped", refresh_hz=20, meters=False, store=False) as run:
            for i in range(20):
                nbmonitor.log(loss=1 / (i + 1), step=i)
                time.sleep(0.02)
    """)
    env = dict(os.environ, NBMONITOR_FRONTEND="text")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "piped" in err and "\r" not in err
    assert err.count("piped |") == 2  # the first line and the last
