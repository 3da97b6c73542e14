"""The kernel matrix table: which clicks are live on which ipykernel.

``python -m tests.kernel_matrix DIR OUT.md`` reads the JSON results that
``tests/test_kernel_comms.py`` wrote into ``DIR`` (one file per kernel, see
``make test-kernels``), writes the Markdown table to ``OUT.md`` and prints it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def series(version: str) -> str:
    """The expectations' key of an ipykernel version: ``"6"``, ``"7.3"`` or ``"7.4"``.

    7.0-7.2 have subshells without comm re-routing, like 7.3; later 7.x are taken
    to behave like 7.4 until measured otherwise.
    """
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()] + [0, 0]
    major, minor = parts[0], parts[1]
    if major < 7:
        return "6"
    return "7.3" if (major, minor) < (7, 4) else "7.4"


def _live(value: bool | None) -> str:
    return {True: "live", False: "after the cell", None: "n/a (no subshells)"}[value]


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


HEADER = ("| ipykernel | mode | expected | measured | status | click -> run ended (s) "
          "| click -> 'stopped' on iopub (s) | click -> execute_reply (s) | lr knob live "
          "| 'not live' note | ok |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|\n")


def render(rows: list[dict]) -> str:
    """The Markdown table of result rows (one per kernel and mode)."""
    lines = []
    for r in rows:
        ok = r.get("live") == r["expected"]
        lines.append(
            f"| {r['ipykernel']} | {r['mode']} | {_live(r['expected'])} "
            f"| {_live(r.get('live'))} | {r.get('status', '-')} | {_secs(r.get('stop_s'))} "
            f"| {_secs(r.get('shown_s'))} | {_secs(r.get('reply_s'))} | {_yes(r.get('lr_live'))} "
            f"| {_yes(r.get('note'))} | {'yes' if ok else '**NO**'} |")
    return HEADER + "\n".join(lines) + "\n"


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def main(argv: list[str]) -> int:
    """Merge ``DIR/*.json`` into ``OUT``; print it. 1 if a kernel left no results."""
    src, out = Path(argv[0]), Path(argv[1])
    rows: list[dict] = []
    for f in sorted(src.glob("*.json"), key=lambda p: _key(p.stem)):
        rows += json.loads(f.read_text())
    table = render(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
