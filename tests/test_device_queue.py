"""The asynchronous device-to-host path of the torch hooks.

Its batching and ordering run here with CPU tensors and a stand-in for CUDA events
(this machine has no GPU); test_cuda_monitor.py runs the real path where CUDA is."""
import pytest

torch = pytest.importorskip("torch")

from nbmonitor.buffer import MetricsBuffer  # noqa: E402
from nbmonitor.hooks.torch_hooks import DeviceQueue  # noqa: E402


class Event:
    """A CUDA event stand-in whose completion the test controls."""
    done = False
    made: list = []

    def __init__(self):
        Event.made.append(self)
        self.recorded = False

    def record(self):
        self.recorded = True

    def query(self):
        return Event.done

    def synchronize(self):
        Event.done = True


def test_batches_land_in_order_only_when_the_copy_is_done():
    Event.done, Event.made = False, []
    buf = MetricsBuffer()
    q = DeviceQueue(buf, every=4, max_delay=1e9, event_factory=Event, pin=False)
    for step in range(1, 11):
        q.add("loss", step, torch.tensor(step / 10))
    assert len(Event.made) == 2 and all(e.recorded for e in Event.made)
    assert "loss" not in buf, "nothing is read before its event completes"
    Event.done = True
    q.add("loss", 11, torch.tensor(1.1))
    steps, values, _ = buf.series("loss").arrays()
    assert steps.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert values.tolist() == pytest.approx([s / 10 for s in range(1, 9)])
    q.drain()
    steps, values, _ = buf.series("loss").arrays()
    assert steps.tolist() == list(range(1, 12))


def test_slow_steps_are_sent_after_max_delay():
    Event.done, Event.made = True, []
    buf = MetricsBuffer()
    q = DeviceQueue(buf, every=1000, max_delay=0.0, event_factory=Event, pin=False)
    q.add("loss", 1, torch.tensor(0.5))
    q.add("loss", 2, torch.tensor(0.25))
    assert buf.series("loss").count >= 1


def test_vectors_split_into_series_and_taps_get_their_values_first():
    Event.done, Event.made = False, []
    buf = MetricsBuffer()
    q = DeviceQueue(buf, every=6, max_delay=1e9, event_factory=Event, pin=False)
    tapped = []
    q.taps["hidden"] = lambda step, v: tapped.append((step, v, "a" in buf))
    q.add_many(("hidden", "a"), 1, torch.tensor([-1.0, 0.5]))
    q.add_many(("a", "b", "c"), 2, torch.tensor([1.0, 2.0, 3.0]))
    assert not Event.made, "5 values pending, under every=6"
    q.add("a", 3, torch.tensor(4.0))
    assert len(Event.made) == 1 and not tapped
    q.drain()
    assert tapped == [(1, -1.0, False)], "a tap, not a series, and before the values after it"
    assert "hidden" not in buf
    assert buf.series("a").arrays()[0].tolist() == [1, 2, 3]
    assert buf.series("a").arrays()[1].tolist() == [0.5, 1.0, 4.0]
    assert buf.series("c").arrays()[1].tolist() == [3.0]
