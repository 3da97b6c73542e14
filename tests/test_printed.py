import io
import sys

import pytest

import nbmonitor
from nbmonitor.hooks.printed import MetricTee, parse_line


@pytest.mark.parametrize("line,expected", [
    ("loss: 0.31  [ 6400/60000]", [("loss", 0.31), ("progress", 6400), ("progress_total", 60000)]),
    ("Accuracy: 81.2%, Avg loss: 0.520000", [("accuracy", 81.2), ("avg_loss", 0.52)]),
    ("epoch=3 train_loss=1.5e-3 val_acc=0.91", [("epoch", 3.0), ("train_loss", 0.0015),
                                                ("val_acc", 0.91)]),
    ("Epoch 2/5 - loss: 0.2 - val loss: 0.4", [("epoch", 2), ("loss", 0.2), ("val_loss", 0.4)]),
    ("train/loss: -1.25 lr=3e-4", [("train/loss", -1.25), ("lr", 0.0003)]),
    ("grad_norm: nan", [("grad_norm", float("nan"))]),
])
def test_metric_patterns(line, expected):
    got = [(n, v) for n, v, _ in parse_line(line)]
    assert len(got) == len(expected)
    for (n, v), (en, ev) in zip(got, expected):
        assert n == en
        assert (v != v and ev != ev) or v == pytest.approx(ev)


@pytest.mark.parametrize("line", [
    "torch.Size([64, 10])",
    "shape=(64, 10)",
    "saved to /tmp/run-3/model.pt",
    "2026-11-22 10:40:00 started",
    "time: 12:30:45",
    "version: 1.2.3",
    "connecting to http://localhost:8888",
    "host:8888",
    "seed: 42",
    "[6400/60000]",
    "Epoch 3",
    "ratio: 3/4",
])
def test_not_metrics(line):
    assert parse_line(line) == []


def test_tee_forwards_text_unchanged_and_in_order():
    out = io.StringIO()
    lines = []
    tee = MetricTee(out, lines.append)
    chunks = ["loss: 1", ".5\nplain text\n", "partial", " acc=0.9\r", "tail"]
    for c in chunks:
        tee.write(c)
    tee.flush_partial()
    assert out.getvalue() == "".join(chunks)
    assert lines == ["loss: 1.5", "plain text", "partial acc=0.9", "tail"]


def test_printed_metrics_become_series_and_text_is_unchanged(capsys):
    with nbmonitor.monitor("p") as run:
        for i in range(5):
            print(f"step={i * 10} loss: {1.0 / (i + 1):.3f} acc: {i * 10}%")
        print("no numbers here")
    captured = capsys.readouterr().out
    assert captured.splitlines()[:5] == [
        f"step={i * 10} loss: {1.0 / (i + 1):.3f} acc: {i * 10}%" for i in range(5)]
    steps, values, _ = run.buffer.series("loss").arrays()
    assert steps.tolist() == [0, 10, 20, 30, 40]
    assert values.tolist() == pytest.approx([1.0, 0.5, 0.333, 0.25, 0.2])
    assert run.buffer.series("acc").arrays()[1].tolist() == [0, 10, 20, 30, 40]
    assert "step" not in run.buffer


def test_print_capture_off():
    with nbmonitor.monitor("p", print_capture=False) as run:
        print("loss: 0.5")
    assert "loss" not in run.buffer
    assert not isinstance(sys.stdout, MetricTee)
