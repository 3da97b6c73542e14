"""The plain-text summary of a run: what the frozen output and the text frontend
print. Needs no plotting library."""
from __future__ import annotations

from .grouping import is_meter
from .meters.report import meter_lines
from .names import short
from .run import Run, fmt_duration

MAX_ALERT_LINES = 12  # alerts listed in the text summary (then a count)
_LOWER = ("loss", "err", "mse", "mae", "rmse", "perplex", "ppl", "nll", "cost", "wer", "cer")
_HIGHER = ("acc", "f1", "auc", "precision", "recall", "iou", "dice", "bleu", "rouge",
           "map", "r2", "score", "top1", "top5")


def direction(name: str) -> str | None:
    """``"min"`` for a metric known to improve downwards (losses, errors), ``"max"``
    for one known to improve upwards (accuracy, F1...), None otherwise (lr, a count):
    a best value is shown only for the first two."""
    n = name.lower()
    if n == "lr" or n.startswith("lr/") or "learning_rate" in n:
        return None
    if any(k in n for k in _LOWER):
        return "min"
    if any(k in n for k in _HIGHER):
        return "max"
    return None


def alert_events(run: Run) -> list:
    """The run's ``alert`` and ``alert_error`` events, in order."""
    with run._events_lock:
        return [e for e in run.events if e.kind in ("alert", "alert_error")]


def summary_text(run: Run) -> str:
    """Run name, status, steps, duration, and last/best value of each metric."""
    lines = [f"nbmonitor run {short(run.name)} ({run.id}): {run.status}",
             f"steps {run.step:,}  epochs {run.epoch}  duration {fmt_duration(run.elapsed)}"]
    if run.error:
        lines.append(f"error: {run.error}")
    for h in run.hparams_history:
        lines.append(f"  control at step {h['step']:,}: {h['name']} {h['old']:.4g} -> "
                     f"{h['new']:.4g}")
    stats = run.summary()
    # Per-layer statistics (--watch) are one line, not three per layer.
    from .model_health import layers
    watched = layers(run)
    if watched:
        per_layer = {f"{p}{n}" for n in watched
                     for p in ("grad/norm/", "weight/norm/", "update_ratio/")}
        ratios = [stats[f"update_ratio/{n}"]["last"] for n in watched]
        stats = {k: v for k, v in stats.items() if k not in per_layer}
    if stats:
        width = max((len(short(k)) for k in stats if not is_meter(k)), default=1)
        for name, st in stats.items():
            if is_meter(name):
                continue
            best = f"  best {st['best']:.6g}" if direction(name) else ""
            lines.append(f"  {short(name):<{width}}  last {st['last']:.6g}{best}"
                         f"  ({int(st['count']):,} points)")
    if watched:
        lines.append(f"  per-layer statistics of {len(watched)} layers (--watch): last update "
                     f"ratio {min(ratios):.3g} .. {max(ratios):.3g}")
    lines += [f"  {line}" for line in meter_lines(run)]
    alerts = alert_events(run)
    if alerts:
        lines.append(f"alerts ({len(alerts)}):")
        for e in alerts[:MAX_ALERT_LINES]:
            prefix = "" if e.kind == "alert" else "error: "
            lines.append(f"  step {e.step:g}: {prefix}{short(e.message, 300)}")
        if len(alerts) > MAX_ALERT_LINES:
            lines.append(f"  ... {len(alerts) - MAX_ALERT_LINES} more")
    return "\n".join(lines)
