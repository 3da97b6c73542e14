"""Inference monitoring with real parts: a real HTTP client against the real
server on 127.0.0.1, ``/metrics`` parsed by prometheus_client's parser, drift on
planted shifts (fixed seeds), metrics checked against scikit-learn."""
from __future__ import annotations

import json
import socket
import urllib.request

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn import metrics as skm

import nbmonitor
from nbmonitor.serving.endpoint import PortInUse

W = np.random.default_rng(42).normal(size=(4, 3))


def linear(x):
    return np.asarray(x) @ W


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        return r.read().decode()


def samples(text: str) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def mon():
    m = nbmonitor.inference(linear, name="clf", store=False)
    yield m
    m.close()


class Boom(RuntimeError):
    pass


def test_metrics_count_calls_rows_and_errors_by_type(mon):
    rng = np.random.default_rng(0)
    for _ in range(37):
        mon(rng.normal(size=(8, 4)))
    bad = Boom("kaput")
    failing = nbmonitor.inference(lambda x: (_ for _ in ()).throw(bad), name="bad",
                                  store=False)
    try:
        for _ in range(3):
            with pytest.raises(Boom) as info:
                failing(np.zeros((2, 4)))
            assert info.value is bad  # the very exception, unchanged
        with pytest.raises(ValueError):
            mon(np.zeros((2, 5)))  # matmul shape error inside the model
        server = mon.serve(port=0)
        assert mon.serve(port=0) is server  # a second serve() is the same server
        got = samples(get(server.url + "/metrics"))
        m = (("model", "clf"),)
        assert got[("nbmonitor_inference_requests_total", m)] == 38
        assert got[("nbmonitor_inference_rows_total", m)] == 37 * 8 + 1
        assert got[("nbmonitor_inference_errors_total",
                    (("model", "clf"), ("type", "ValueError")))] == 1
        assert got[("nbmonitor_inference_latency_seconds_count", m)] == 38
        assert got[("nbmonitor_inference_latency_seconds_bucket",
                    (("le", "+Inf"), ("model", "clf")))] == 38
        fs = failing.serve(port=0)
        got = samples(get(fs.url + "/metrics"))
        assert got[("nbmonitor_inference_errors_total",
                    (("model", "bad"), ("type", "Boom")))] == 3
        assert got[("nbmonitor_inference_requests_total", (("model", "bad"),))] == 3
    finally:
        failing.close()


def test_json_route_and_close_frees_the_port(mon):
    x = np.random.default_rng(1).normal(size=(16, 4))
    for _ in range(10):
        mon(x)
    server = mon.serve(port=0)
    port = server.port
    s = json.loads(get(f"http://127.0.0.1:{port}/monitor"))
    assert s["requests"] == 10 and s["rows"] == 160 and s["batch_size"] == 16
    assert s["error_rate"] == 0.0
    assert set(s["latency_ms"]) == {"p50", "p90", "p99"}
    assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"]
    assert {"accuracy", "recall", "drift"} <= set(s)
    mon.close()
    with pytest.raises(OSError):  # nothing answers there any more
        get(f"http://127.0.0.1:{port}/metrics")
    again = nbmonitor.inference(linear, name="again", store=False)
    try:  # the port is free again: a new server binds it
        assert again.serve(port=port).port == port
        assert json.loads(get(f"http://127.0.0.1:{port}/monitor"))["model"] == "again"
    finally:
        again.close()


def test_port_in_use_is_a_clear_error_and_loses_nothing(mon):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        mon(np.ones((3, 4)))
        with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is in use"):
            mon.serve(port=port)
    assert mon.server is None
    mon(np.ones((3, 4)))
    mon.sync()
    assert mon.summary()["requests"] == 2


def _stream(shift: float, seed: int, batches: int = 40, size: int = 50):
    rng = np.random.default_rng(seed)
    for i in range(batches):
        x = rng.normal(size=(size, 4))
        if i >= batches // 2:
            x[:, 0] += shift
        yield x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_shift_trips_drift_alert_and_a_steady_stream_does_not(seed):
    ref = np.random.default_rng(100 + seed).normal(size=(3000, 4))
    fired = []
    steady = nbmonitor.inference(linear, name="steady", reference=ref, store=False)
    shifted = nbmonitor.inference(linear, name="shifted", reference=ref, store=False)
    try:
        for x in _stream(0.0, seed):
            steady(x)
            steady.sync()
        for x in _stream(1.5, seed):
            shifted(x)
            shifted.sync()
        fired = [a.series for a in shifted.alerts.alerts]
        assert steady.alerts.alerts == [], [a.message for a in steady.alerts.alerts]
        assert "drift/psi/x0" in fired and "drift/ks_p/x0" in fired
        assert not any(s.endswith(("/x1", "/x2", "/x3")) for s in fired), fired
        top = next(iter(shifted.summary()["drift"]))
        assert top == "x0"
        events = [e for e in shifted.run.events if e.kind == "alert"]
        assert events and events[0].step > 20  # not before the shift
    finally:
        steady.close()
        shifted.close()


def test_classifier_quality_equals_scikit_learn():
    rng = np.random.default_rng(3)
    mon = nbmonitor.inference(linear, name="q", store=False)
    trues, preds = [], []
    try:
        for _ in range(12):
            x = rng.normal(size=(25, 4))
            scores = mon(x)
            y = np.where(rng.random(25) < 0.7, scores.argmax(1), rng.integers(0, 3, 25))
            mon.feedback(y)
            trues.append(y)
            preds.append(scores.argmax(1))
        late_x = rng.normal(size=(30, 4))
        late_scores = mon(late_x)
        mon(rng.normal(size=(5, 4)))  # another call before the labels arrive
        y_late = rng.integers(0, 3, 30)
        mon.feedback(y_late, late_scores)
        trues.append(y_late)
        preds.append(late_scores.argmax(1))
        mon.sync()
        s = mon.summary()
    finally:
        mon.close()
    t, p = np.concatenate(trues), np.concatenate(preds)
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(t, p))
    assert s["precision"] == pytest.approx(skm.precision_score(t, p, average="macro"))
    assert s["recall"] == pytest.approx(skm.recall_score(t, p, average="macro"))
    assert s["f1"] == pytest.approx(skm.f1_score(t, p, average="macro"))
    per = skm.recall_score(t, p, average=None)
    assert [s["per_class"][str(k)]["recall"] for k in range(3)] == pytest.approx(per)
    assert s["confusion"]["matrix"] == skm.confusion_matrix(t, p).tolist()
    assert s["labelled"] == len(t)


def test_regressor_quality_equals_scikit_learn():
    rng = np.random.default_rng(4)
    w = rng.normal(size=4)
    mon = nbmonitor.inference(lambda x: x @ w, name="reg", store=False)
    t, p = [], []
    try:
        for _ in range(5):
            x = rng.normal(size=(20, 4))
            out = mon(x)
            y = out + rng.normal(scale=0.3, size=20)
            mon.feedback(y)
            t.append(y)
            p.append(out)
        mon.sync()
        s = mon.summary()
    finally:
        mon.close()
    t, p = np.concatenate(t), np.concatenate(p)
    assert s["task"] == "regression"
    assert s["mae"] == pytest.approx(skm.mean_absolute_error(t, p))
    assert s["rmse"] == pytest.approx(skm.root_mean_squared_error(t, p))
    assert s["output"]["mean"] == pytest.approx(p.mean())


def test_bad_input_is_a_clear_error_and_nothing_recorded_is_lost(mon):
    x = np.ones((4, 4))
    mon(x)
    with pytest.raises(ValueError, match="3 labels for 4 predictions"):
        mon.feedback([0, 1, 2])
    mon.feedback([0, 1, 2, 0])
    words = nbmonitor.inference(lambda x: ["cat"] * len(x), name="words", store=False)
    try:
        with pytest.raises(TypeError, match="not numeric.*output=fn"):
            words(x)
    finally:
        words.close()
    with pytest.raises(TypeError, match="callable model"):
        nbmonitor.inference(42)
    mon.sync()
    s = mon.summary()
    assert s["requests"] == 1 and s["labelled"] == 4


def test_serve_a_training_run_last_values():
    with nbmonitor.monitor(name="train-serve", store=False, meters=False,
                           print_capture=False) as run:
        for i in range(5):
            nbmonitor.log(loss=1.0 / (i + 1), step=i)
        server = nbmonitor.serve(0)
        try:
            got = samples(get(server.url + "/metrics"))
            assert got[("nbmonitor_run_value", (("run", "train-serve"),
                                                 ("series", "loss")))] == pytest.approx(0.2)
            assert json.loads(get(server.url + "/monitor"))["run"] == run.name
        finally:
            server.close()


def test_inference_run_is_stored_with_its_kind(tmp_path):
    db = tmp_path / "runs.db"
    mon = nbmonitor.inference(linear, name="stored", store=db)
    for _ in range(5):
        mon(np.ones((2, 4)))
    mon.close()
    df = nbmonitor.runs(db)
    row = df[df.name == "stored"].iloc[0]
    assert row.status == "finished" and row.tags == ["inference"]
    assert row["hp.kind"] == "inference"
    assert row["last.calls/error_rate"] == 0.0


def test_compare_two_inference_runs(tmp_path):
    from nbmonitor.compare import bundle, load_curves, pick_runs
    from nbmonitor.store import open_store
    db = tmp_path / "runs.db"
    for name, scale in (("fast", 1.0), ("wide", 3.0)):
        rng = np.random.default_rng(5)
        mon = nbmonitor.inference(linear, name=name, store=db, window=50)
        for _ in range(20):
            mon(rng.normal(scale=scale, size=(10, 4)))
            mon.sync()
        mon.close()
    runs = pick_runs(open_store(db), ["fast", "wide"])
    curves = load_curves(runs)
    for per_run in curves.values():
        assert {"latency/p50_ms", "calls/rows_per_s", "drift/psi/max_prob"} <= set(per_run)
    data = bundle(runs, curves)
    assert "image/png" in data and "fast" in data["text/plain"] and "wide" in data["text/plain"]


@pytest.mark.gpu
def test_cuda_model_gets_gpu_time_from_events():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = torch.nn.Linear(256, 10).cuda().eval()
    mon = nbmonitor.inference(net, name="cuda", store=False)
    try:
        x = torch.randn(512, 256, device="cuda")
        with torch.no_grad():
            for _ in range(50):
                out = mon(x)
        assert out.device.type == "cuda"
        torch.cuda.synchronize()  # the test waits; the wrapper never does
        mon.sync()
        s = mon.summary()
    finally:
        mon.close()
    assert s["requests"] == 50 and s["rows"] == 50 * 512
    assert s["cuda_ms"]["p50"] > 0


def test_other_host_warns_once_and_output_picks_the_numbers(capsys):
    mon = nbmonitor.inference(lambda x: {"logits": linear(x), "note": "text"}, name="dict",
                              output=lambda out: out["logits"], store=False)
    try:
        out = mon(np.ones((3, 4)))
        assert set(out) == {"logits", "note"}  # the model's own result comes back
        mon.feedback([0, 1, 2])
        server = mon.serve(port=0, host="0.0.0.0")
        err = capsys.readouterr().err
        assert err.count("reachable from other machines") == 1
        s = json.loads(get(f"http://127.0.0.1:{server.port}/monitor"))
        assert s["requests"] == 1 and s["task"] == "classification" and s["labelled"] == 3
    finally:
        mon.close()


def test_outputs_that_turn_non_numeric_later_are_noted_not_lost():
    answers = iter([np.zeros((2, 3)), np.zeros((2, 3)), ["a", "b"], np.zeros((2, 3))])
    mon = nbmonitor.inference(lambda x: next(answers), name="odd", store=False)
    try:
        for _ in range(4):
            mon(np.ones((2, 4)))
        mon.sync()
        s = mon.summary()
    finally:
        mon.close()
    assert s["requests"] == 4 and s["unreadable_outputs"] == 1
    assert any(e.kind == "note" and "not numeric" in e.message for e in mon.run.events)


def test_missing_extra_gives_the_install_hint(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ddsketch" else real(name, *a))
    with pytest.raises(ImportError, match=r"ddsketch: pip install nbmonitor\[serve\]"):
        nbmonitor.inference(linear)


def test_a_new_monitor_of_the_same_name_closes_the_old_one(capsys):
    first = nbmonitor.inference(linear, name="rerun", store=False)
    port = first.serve(port=0).port
    second = nbmonitor.inference(linear, name="rerun", store=False)
    try:
        assert first.closed and "closing the previous monitor 'rerun'" in capsys.readouterr().err
        assert second.serve(port=port).port == port  # the port came free
    finally:
        second.close()
