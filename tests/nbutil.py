"""Helpers to build and execute real notebooks through nbclient."""
from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def notebook(*cells: str, raises: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    """A notebook of code cells; cells whose index is in ``raises`` may fail."""
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(cells):
        cell = nbformat.v4.new_code_cell(src)
        if i in raises:
            cell.metadata["tags"] = ["raises-exception"]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def execute(nb, path: Path, *, interrupt: dict[int, float] | None = None,
            timeout: int = 300, env: dict | None = None) -> nbformat.NotebookNode:
    """Run ``nb`` in a real kernel with cwd ``path``; ``interrupt`` maps a cell
    index to seconds after which the kernel gets a real interrupt (SIGINT)."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path)}})
    kernel_env = {k: v for k, v in os.environ.items() if k != "NBMONITOR_FRONTEND"}
    kernel_env.update(env or {})
    with client.setup_kernel(env=kernel_env):
        for i, cell in enumerate(nb.cells):
            timer = None
            if interrupt and i in interrupt:
                pid = client.km.provisioner.pid  # python kernels take SIGINT as interrupt
                timer = threading.Timer(interrupt[i], os.kill, (pid, signal.SIGINT))
                timer.start()
            try:
                client.execute_cell(cell, i)
            finally:
                if timer:
                    timer.cancel()
        client.set_widgets_metadata()
    return nb


def text(cell) -> str:
    """All stream text a cell printed."""
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def result(cell) -> dict:
    """The JSON object a check cell printed on its last line."""
    return json.loads(text(cell).strip().splitlines()[-1])


def display_data(cell) -> list[dict]:
    """The data bundles of a cell's display outputs."""
    return [o["data"] for o in cell.outputs if o.output_type in ("display_data",
                                                                  "execute_result")]
