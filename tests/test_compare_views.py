"""The compare view live and frozen: one colour per run whichever runs are picked,
the same number of chart columns, the live widget frozen (and closed) when the next
cell runs, and a static snapshot by default."""
from __future__ import annotations

from matplotlib.colors import to_hex

from nbmonitor.compare import COLUMNS, draw, load_curves, pick_runs, run_colors
from nbmonitor.store import open_store

from .test_store_history import db, train  # noqa: F401 (fixture)


def _line_colors(fig) -> dict[str, str]:
    """Legend label -> colour of every line of the figure."""
    return {ln.get_label(): to_hex(ln.get_color()) for ax in fig.axes for ln in ax.lines}


def test_a_run_keeps_its_colour_when_others_are_unpicked(db):
    for name, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3)):
        train(name, lr)
    runs = pick_runs(open_store(None))
    curves = load_curves(runs)
    colors = run_colors(runs)
    full = _line_colors(draw(runs, curves, colors))
    part = _line_colors(draw(runs[1:], curves, colors))
    assert part["c train/loss"] == full["c train/loss"] == colors[runs[2].id]
    assert part["b val_loss"] == full["b val_loss"] == colors[runs[1].id]
    assert len(set(colors.values())) == 3


def test_live_compare_freezes_on_the_next_cell_with_widgets_closed(db, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from nbmonitor.compare_magic import compare
    train("a", 0.1)
    train("b", 0.2)
    ip = InteractiveShell.instance()
    shown = []
    monkeypatch.setattr(ip.display_pub, "publish",  # what a frontend gets
                        lambda data, **kw: shown.append(data))
    widget = compare(static=False, frontend="widgets")
    assert widget is not None and widget.widget.comm is not None
    # Up to COLUMNS charts a row, as frozen; a lone chart or a narrow output: one a row.
    grid = widget.grid.layout.grid_template_columns
    assert grid.startswith("repeat(auto-fit, ") and f"calc({100 / COLUMNS:.4g}% - 8px)" in grid
    labels = [m.labels[0] for f in widget._figures for m in f.marks]
    assert sorted(labels) == ["a train", "a val", "b train", "b val"]  # title: the metric
    widget.picker.value = (widget.runs[1].id,)
    ip.run_cell("x = 1")
    assert widget.widget.comm is None and widget.picker.comm is None
    last = shown[-1]
    assert "application/vnd.jupyter.widget-view+json" not in last
    assert last["image/png"] and "b (" in last["text/plain"] and "a (" not in last["text/plain"]
    ip.run_cell("y = 2")  # frozen once: nothing more is published
    assert shown[-1] is last


def test_compare_is_static_by_default(db):
    from nbmonitor.compare_magic import compare
    train("a", 0.1)
    assert compare(frontend="widgets") is None


def test_legend_labels_are_short():
    from nbmonitor.widgets.compare import legend_label
    assert legend_label("slow", "loss", "loss") == "slow"
    assert legend_label("slow", "val_loss", "loss") == "slow val"
    assert legend_label("slow", "train/loss", "loss") == "slow train"
    assert legend_label("fast", "acc", "accuracy") == "fast acc"
    assert legend_label("a-very-long-run-name", "val/loss", "loss") == "a-very-long-r\u2026 val"
