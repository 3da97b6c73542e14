"""Stop and Pause in loops no framework hook sees: ``nbmonitor.log`` calls and printed
metric lines are stop points; the status says ``stopped`` only when the loop ended
early, and a request nothing honoured leaves ``finished`` with an event."""
from __future__ import annotations

import threading
import time

import pytest

import nbmonitor
from nbmonitor.tuning import engine
from nbmonitor import stops
from nbmonitor.widgets.header import header_fields, render_header


def later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def test_stop_ends_a_log_only_loop_at_the_next_log_call():
    done = []
    with nbmonitor.monitor("log-stop", meters=False, store=False) as run:
        t = later(0.5, run.request_stop)
        for i in range(200):
            time.sleep(0.02)
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
            done.append(i)
    t.join()
    assert run.status == "stopped"
    assert 5 < len(done) < 150, "the loop ended early, at a log call"
    steps, values, _ = run.buffer.series("loss").arrays()
    # The last call's values are kept, then StopRun ended the block.
    assert steps.tolist() == list(range(len(done) + 1))
    assert values[-1] == pytest.approx(1.0 / (len(done) + 1))
    assert run.stop_honoured == "nbmonitor.log"


def test_stop_on_nan_ends_the_loop_right_after_the_nan():
    done = []
    with nbmonitor.monitor("nan-stop", meters=False, store=False, stop_on_nan=True,
                           refresh_hz=20) as run:
        for i in range(100):
            time.sleep(0.02)
            nbmonitor.log(loss=float("nan") if i == 37 else 1.0)
            done.append(i)
    assert run.status == "stopped"
    # The alert engine runs on the refresher (20 Hz): a few steps at most after 37.
    assert 37 <= len(done) < 60, len(done)
    assert run.buffer.series("loss").count == len(done) + 1
    assert any(e.kind == "alert" for e in run.events)


def test_stop_ends_a_print_only_loop_at_the_next_metric_line(capsys):
    done = []
    with nbmonitor.monitor("print-stop", meters=False, store=False) as run:
        t = later(0.4, run.request_stop)
        for i in range(200):
            time.sleep(0.02)
            print(f"working on batch {i}")  # no metric: not a stop point
            print(f"step {i} | loss {1.0 / (i + 1):.4f}")
            done.append(i)
    t.join()
    assert run.status == "stopped"
    assert 5 < len(done) < 150
    out = capsys.readouterr().out.splitlines()
    # The text of the line that stopped the loop was printed in full.
    last = len(done)
    assert out[-1] == f"step {last} | loss {1.0 / (last + 1):.4f}"
    steps, _, _ = run.buffer.series("loss").arrays()
    assert steps.tolist() == list(range(last + 1))
    assert run.stop_honoured == "printed metric line"


def test_a_request_nothing_honoured_ends_finished_with_an_event():
    with nbmonitor.monitor("unhonoured", meters=False, store=False) as run:
        run.request_stop()
        fields = header_fields(run, 0.0)
        html = render_header(run, 0.0)
        time.sleep(0.05)  # a loop with no stop point
    assert fields["status"] == "stopping"
    assert "has given none yet" in html
    assert run.status == "finished"
    ev = [e for e in run.events if e.data.get("honoured") is False]
    assert len(ev) == 1 and "not honoured" in ev[0].message


def test_pause_holds_at_a_log_call_and_resume_goes_on():
    steps_seen = []
    with nbmonitor.monitor("pause", meters=False, store=False) as run:
        def pause_then_resume():
            run.pause()
            time.sleep(0.2)
            steps_seen.append(run.buffer.series("x").count)
            time.sleep(0.3)
            steps_seen.append(run.buffer.series("x").count)
            run.resume()
        t = later(0.1, pause_then_resume)
        for i in range(40):
            time.sleep(0.01)
            nbmonitor.log(x=i)
    t.join()
    assert run.status == "finished"
    assert steps_seen[0] == steps_seen[1], "no log call went through while paused"
    assert run.buffer.series("x").count == 40
    assert run.halt is False


def test_another_threads_log_is_no_stop_point():
    """In background mode only the run's thread stops; other threads' calls record."""
    errors = []
    with nbmonitor.monitor("thread", meters=False, store=False) as run:
        run.thread_ident = threading.get_ident()
        run.request_stop()

        def other():
            try:
                nbmonitor.log(y=1.0)
            except BaseException as e:  # would be StopRun on the wrong thread
                errors.append(e)
        th = threading.Thread(target=other)
        th.start()
        th.join()
        nbmonitor.log(y=2.0)
        pytest.fail("the run's own log call must stop the block")
    assert not errors
    assert run.status == "stopped"
    assert run.buffer.series("y").count == 2


def test_final_status_is_the_one_rule():
    run = nbmonitor.Run("r")
    assert stops.final_status(run) == "finished"
    run.request_stop()
    with pytest.raises(nbmonitor.hooks.StopRun):
        stops.raise_stop(run, "here")
    assert stops.final_status(run) == "stopped"


def test_tuner_pruning_stops_a_log_only_loop():
    """No optimizer step anywhere: the pruner's verdict lands at the next log call."""
    optuna = pytest.importorskip("optuna")  # noqa: F841
    done = {}

    def train(q: float = 1.0) -> None:
        done[q] = 0
        for epoch in range(60):
            time.sleep(0.02)
            nbmonitor.log(**{"val/loss": q * (1.0 + 1.0 / (epoch + 1))})
            done[q] += 1

    t = nbmonitor.Tuner(train, q=(0.1, 10.0), storage=":memory:",
                        session={"meters": False, "refresh_hz": 10.0, "store": False})
    for q in (1.0, 1.1, 9.0):
        t.study.enqueue_trial({"q": q})
    eager = engine.pruner(True, n_startup=2, n_warmup=0)  # prune from the first report
    df = t.sweep("random", n_trials=3, pruning=True, pruner=eager)
    assert list(df["status"]) == ["complete", "complete", "pruned"]
    assert done[1.0] == done[1.1] == 60 and done[9.0] < 40
    run = nbmonitor.last_run()
    assert run.status == "stopped" and run.stop_honoured == "nbmonitor.log"
    assert run.buffer.series("val/loss").count == done[9.0] + 1


def test_a_helper_threads_log_is_no_stop_point_in_the_foreground():
    errors = []
    with nbmonitor.monitor("helper", meters=False, store=False) as run:
        run.request_stop()

        def helper():
            try:
                nbmonitor.log(z=1.0)
            except BaseException as e:
                errors.append(e)
        th = threading.Thread(target=helper)
        th.start()
        th.join()
        nbmonitor.log(z=2.0)
    assert not errors and run.status == "stopped"
