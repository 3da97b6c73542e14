"""Make ``.venv-bench``: a venv layered over the development venv for the peers.

The peers (wandb, aim, trackio...) pull in versions of pillow, filelock or
python-dateutil older than the development venv's. Installed here, they shadow
those only for the benchmarks: the venv's own site-packages come first and a
``.pth`` file appends the development venv's, so torch, keras and the pinned
packages are shared, not installed twice, and ``make test`` keeps its versions.
Run with the development venv's python: ``.venv/bin/python benchmarks/bench_venv.py``.
"""
from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

DEST = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv-bench")


def main() -> None:
    if not (DEST / "bin" / "python").exists():
        venv.create(DEST, with_pip=False)  # pip comes from the development venv
    purelib = subprocess.run(
        [str(DEST / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / "_nbmonitor_dev_venv.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    print(DEST / "bin" / "python")


if __name__ == "__main__":
    main()
