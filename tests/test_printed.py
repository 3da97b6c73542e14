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


def test_nanogpt_lines_give_steps_and_two_word_names_on_one_chart(capsys):
    from nbmonitor.grouping import group_of
    with nbmonitor.monitor("nanogpt", meters=False, store=False) as run:
        for it in range(0, 30, 10):
            if it % 20 == 0:
                print(f"step {it}: train loss {4.0 - it / 10:.4f}, val loss {4.1 - it / 10:.4f}")
            print(f"iter {it}: loss {3.9 - it / 10:.4f}, time 50.2ms, mfu 12.3%")
    assert run.buffer.series("train_loss").arrays()[0].tolist() == [0, 20]
    assert run.buffer.series("val_loss").arrays()[1].tolist() == pytest.approx([4.1, 2.1])
    assert run.buffer.series("loss").arrays()[0].tolist() == [0, 10, 20]
    assert run.buffer.series("mfu").arrays()[1].tolist() == pytest.approx([12.3] * 3)
    assert "time" not in run.buffer and "step" not in run.buffer
    assert group_of("train_loss") == group_of("val_loss") == "loss"


def test_mnist_lines_set_the_epoch_and_progress_never_goes_back(capsys):
    with nbmonitor.monitor("mnist", meters=False, store=False) as run:
        for epoch in (1, 2):
            for seen in (0, 640, 59520):
                print(f"Train Epoch: {epoch} [{seen}/60000 ({100 * seen // 60000}%)]"
                      f"\tLoss: {1 / (epoch + seen / 60000):.6f}")
            assert run.epoch == epoch
    assert "train_epoch" not in run.buffer and "epoch" not in run.buffer
    steps = run.buffer.series("loss").arrays()[0].tolist()
    assert steps == [0, 640, 59520, 60000, 60640, 119520]
