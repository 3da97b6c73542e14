"""Colours shared by the live widgets and the static snapshot."""

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
STATUS_COLORS = {"running": "#1a7f37", "paused": "#9a6700", "finished": "#0969da",
                 "stopped": "#8250df", "failed": "#cf222e", "interrupted": "#bc4c00",
                 "crashed": "#cf222e", "stopping": "#8250df"}
