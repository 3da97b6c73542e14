"""The HTTP endpoint: ``/metrics`` in Prometheus' text format (``prometheus_client``
on its own ``CollectorRegistry``) and ``/monitor`` as JSON, on a daemon thread.

Collectors read the monitor's statistics (or a training run's buffer) when a
scrape comes; nothing here is called by the model's callers. Binding to another
address than 127.0.0.1 prints one warning line. A port in use raises
:class:`PortInUse`; :meth:`MetricsServer.close` stops the server and frees the
port (``shutdown()`` then ``server_close()``).
"""
from __future__ import annotations

import errno
import json
import sys
import threading
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from prometheus_client.registry import Collector

from .latency import BUCKETS

PREFIX = "nbmonitor_inference"


class PortInUse(OSError):
    """The port asked for is taken."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no access log in the cell
        pass


class _Collector(Collector):
    def __init__(self, fn: Callable[[], Iterable[Any]]) -> None:
        self.fn = fn

    def collect(self) -> Iterable[Any]:
        return self.fn()


def monitor_collector(mon: Any) -> Collector:
    """The metrics of one inference monitor, every family with a ``model`` label."""
    def collect() -> Iterable[Any]:
        mon.sync()  # count every call made until now
        s = mon.summary()
        p = mon.processor
        model = s["model"]
        with p.lock:
            buckets = p.latency.bucket_counts.cumsum().tolist()
            total_s = p.latency.latency_sum
        c = CounterMetricFamily(f"{PREFIX}_requests", "Calls of the model", labels=["model"])
        c.add_metric([model], s["requests"])
        yield c
        c = CounterMetricFamily(f"{PREFIX}_rows", "Rows (samples) predicted", labels=["model"])
        c.add_metric([model], s["rows"])
        yield c
        c = CounterMetricFamily(f"{PREFIX}_errors", "Calls that raised, by exception type",
                                labels=["model", "type"])
        for etype, n in s["errors"].items():
            c.add_metric([model, etype], n)
        yield c
        h = HistogramMetricFamily(f"{PREFIX}_latency_seconds", "Wall time of a call",
                                  labels=["model"])
        bounds = [*(repr(float(b)) for b in BUCKETS), "+Inf"]
        h.add_metric([model], list(zip(bounds, buckets)), total_s)
        yield h
        g = GaugeMetricFamily(f"{PREFIX}_latency_window_ms",
                              "Latency percentiles over the sliding window (ms)",
                              labels=["model", "quantile"])
        for k, v in s["latency_window_ms"].items():
            if v is not None:
                g.add_metric([model, k], v)
        yield g
        g = GaugeMetricFamily(f"{PREFIX}_rows_per_second", "Rows per second (window)",
                              labels=["model"])
        g.add_metric([model], s["rows_per_s"])
        yield g
        for key in ("psi", "ks_p"):
            g = GaugeMetricFamily(f"{PREFIX}_drift_{key}",
                                  "PSI against the reference" if key == "psi" else
                                  "KS test p-value against the reference (adjusted)",
                                  labels=["model", "feature"])
            for feat, d in s["drift"].items():
                if d.get(key) is not None:
                    g.add_metric([model, feat], d[key])
            yield g
        for key in ("accuracy", "precision", "recall", "f1", "mae", "rmse"):
            if s.get(key) is not None:
                g = GaugeMetricFamily(f"{PREFIX}_{key}", f"{key} on labelled rows (window)",
                                      labels=["model"])
                g.add_metric([model], s[key])
                yield g
    return _Collector(collect)


def run_collector(get_run: Callable[[], Any]) -> Collector:
    """The last value of every series of the current training run, as gauges
    ``nbmonitor_run_value{run, series}``, plus ``nbmonitor_run_step{run}``."""
    def collect() -> Iterable[Any]:
        run = get_run()
        g = GaugeMetricFamily("nbmonitor_run_value", "Last value of a series of the run",
                              labels=["run", "series"])
        step = GaugeMetricFamily("nbmonitor_run_step", "Global step of the run",
                                 labels=["run", "status"])
        if run is not None:
            for series in list(run.buffer):
                v = series.last_value
                if v == v:  # NaN is left out
                    g.add_metric([run.name, series.name], v)
            step.add_metric([run.name, run.status], run.step)
        yield g
        yield step
    return _Collector(collect)


class MetricsServer:
    """``/metrics`` and ``/monitor`` on ``host:port``, served by a daemon thread."""

    def __init__(self, collector: Collector, summary: Callable[[], dict], port: int,
                 host: str = "127.0.0.1") -> None:
        if not isinstance(port, int) or not 0 <= port < 65536:
            raise ValueError(f"port must be an integer 0..65535, not {port!r}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"nbmonitor: serving metrics on {host}:{port}, reachable from other "
                  "machines", file=sys.stderr)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        metrics = make_wsgi_app(self.registry)

        def app(environ: dict, start_response: Callable) -> list[bytes]:
            if environ.get("PATH_INFO", "").rstrip("/") == "/monitor":
                body = json.dumps(summary()).encode()
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            return metrics(environ, start_response)

        try:
            self._httpd = make_server(host, port, app, _Server, handler_class=_Quiet)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(errno.EADDRINUSE, f"port {port} on {host} is in use; pick "
                                "another (serve(port=...)) or close what holds it") from None
            raise
        self.host, self.port = host, self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="nbmonitor-serve", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is None:
            return
        httpd, self._httpd = self._httpd, None
        httpd.shutdown()
        httpd.server_close()
        self._thread.join(timeout=5)

    def __repr__(self) -> str:
        state = "stopped" if self._httpd is None else "serving"
        return f"<nbmonitor MetricsServer {self.url} {state}: /metrics /monitor>"


_training: MetricsServer | None = None


def serve_training(port: int = 9109, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the current (else the last) training run's last values; a second call
    replaces the first server."""
    global _training
    from ..session import active_session, last_run
    if _training is not None:
        _training.close()

    def current() -> Any:
        s = active_session()
        return s.run if s is not None else last_run()

    def summary() -> dict:
        run = current()
        if run is None:
            return {"run": None}
        return {"run": run.name, "id": run.id, "status": run.status, "step": run.step,
                "values": {s.name: (s.last_value if s.last_value == s.last_value else None)
                           for s in list(run.buffer)}}
    _training = MetricsServer(run_collector(current), summary, port, host)
    return _training
