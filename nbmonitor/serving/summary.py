"""A monitor's statistics as plain data: the ``/monitor`` JSON, the panel's
header and the snapshot's text all read this, never the worker's internals."""
from __future__ import annotations

import math
import time
from typing import Any

from ..run import fmt_duration
from .quality import label


def _clean(v: Any) -> Any:
    """JSON-safe: NaN and inf become None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def summary(mon: Any) -> dict[str, Any]:
    """Counts, error rate, latency percentiles (ms, session and window), rows/s,
    quality (``None`` before labels), drift per column (highest PSI first),
    output statistics."""
    p = mon.processor
    with p.lock:
        lat = p.latency.summary(time.time())
        q = dict(p.quality.latest) if p.quality is not None else {}
        drift = {}
        for trk in (p.inputs, p.outputs):
            if trk is not None:
                drift.update(trk.ranked())
        drift = dict(sorted(drift.items(), key=lambda kv: -kv[1]["psi"]))
        out = {"model": mon.run.name, "run": mon.run.id, "status": mon.run.status,
               "task": p.task, "requests": lat["requests"] + mon.dropped, "rows": lat["rows"],
               "errors": lat["errors_by_type"], "error_rate": lat["error_rate"],
               "latency_ms": lat["latency_ms"], "latency_window_ms": lat["latency_window_ms"],
               "rows_per_s": lat["window"]["rows_per_s"],
               "calls_per_s": lat["window"]["calls_per_s"],
               "batch_size": lat["window"]["batch_size"],
               "accuracy": q.get("accuracy"), "precision": q.get("precision"),
               "recall": q.get("recall"), "f1": q.get("f1"), "mae": q.get("mae"),
               "rmse": q.get("rmse"), "labelled": q.get("labelled", 0),
               "per_class": q.get("per_class"), "drift": drift,
               "output": dict(p.output_summary), "classes": dict(p.class_counts),
               "dropped": mon.dropped, "unsampled": mon.unsampled, "unreadable_outputs": p.unreadable,
               "elapsed_s": mon.run.elapsed}
        if "cuda_ms" in lat:
            out["cuda_ms"] = lat["cuda_ms"]
        if p.quality is not None and len(p.quality.classes):
            out["confusion"] = {"labels": [label(c) for c in p.quality.classes.tolist()],
                                "matrix": p.quality.confusion.tolist()}
    return _clean(out)


def fmt_ms(v: float | None) -> str:
    return "--" if v is None else (f"{v:.3g} ms" if v < 1000 else f"{v / 1000:.3g} s")


def header_text(s: dict[str, Any]) -> dict[str, str]:
    """The header's fields as strings: calls, rows/s, error rate, p50, p99..."""
    lw = s["latency_window_ms"]
    out = {"calls": f"{s['requests']:,}", "rows/s": f"{s['rows_per_s']:,.1f}",
           "errors": f"{100 * s['error_rate']:.2f}%", "p50": fmt_ms(lw["p50"]),
           "p99": fmt_ms(lw["p99"]), "elapsed": fmt_duration(s["elapsed_s"])}
    if s.get("accuracy") is not None:
        out["accuracy"] = f"{s['accuracy']:.3f}"
    if s.get("mae") is not None:
        out["mae"] = f"{s['mae']:.4g}"
    return out


def outputs_line(s: dict[str, Any]) -> str:
    """The output statistics in one line: class shares and mean max-probability of
    a classifier; mean, std and quantiles of a regressor's outputs."""
    out, classes = s.get("output") or {}, s.get("classes") or {}
    parts = []
    if classes:
        total = sum(classes.values()) or 1
        top = sorted(classes.items(), key=lambda kv: -kv[1])[:10]
        parts.append("predicted " + ", ".join(f"{k}: {100 * v / total:.1f}%" for k, v in top))
    parts += [f"{k} {v:.4g}" for k, v in out.items()]
    return "; ".join(parts)


def text(s: dict[str, Any], alerts: list[str]) -> str:
    """The plain-text summary of a monitor (the snapshot's text/plain)."""
    lat = s["latency_ms"]
    lines = [f"nbmonitor inference {s['model']} ({s['run']}): {s['status']}",
             f"calls {s['requests']:,}  rows {s['rows']:,}  errors {sum(s['errors'].values()):,}"
             f" ({100 * s['error_rate']:.2f}%)  duration {fmt_duration(s['elapsed_s'])}",
             f"latency p50 {fmt_ms(lat['p50'])}  p90 {fmt_ms(lat['p90'])}  "
             f"p99 {fmt_ms(lat['p99'])} (whole session)"]
    if outputs_line(s):
        lines.append("outputs: " + outputs_line(s))
    if s["errors"]:
        lines.append("errors by type: " + ", ".join(f"{k} {v:,}" for k, v in s["errors"].items()))
    for k in ("accuracy", "precision", "recall", "f1", "mae", "rmse"):
        if s.get(k) is not None:
            lines.append(f"  {k:<9} {s[k]:.4g}  ({s['labelled']:,} labelled rows)")
    if s["drift"]:
        lines.append("drift (highest PSI first):")
        for name, d in list(s["drift"].items())[:10]:
            ks = d.get("ks_p")
            lines.append(f"  {name:<16} PSI {d['psi']:.3f}"
                         + (f"  KS p {ks:.3g}" if ks is not None else ""))
    if alerts:
        lines.append(f"alerts ({len(alerts)}):")
        lines += [f"  {a}" for a in alerts[:12]]
    return "\n".join(lines)
