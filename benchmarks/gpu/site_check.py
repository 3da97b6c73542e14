"""Did every wheel of the folder land in the temporary site, and does it import?

``python site_check.py SITE WHEELS --import 1`` prints one summary line and exits
non-zero when a wheel is missing from SITE or an import fails. With ``--import 0``
(another Python than the device's 3.12: compiled wheels can't load) only
nbmonitor is imported, and it must come from SITE.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

# What the device lacks and nbmonitor uses: the notebook side and the tuner.
MODULES = ["nbmonitor", "IPython", "ipykernel", "ipywidgets", "bqplot", "traitlets", "optuna",
           "zmq", "sqlalchemy", "ddsketch"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("site")
    ap.add_argument("wheels")
    ap.add_argument("--import", dest="imports", type=int, default=1)
    args = ap.parse_args(argv)
    site = Path(args.site).resolve()
    wanted = {canonicalize_name(parse_wheel_filename(p.name)[0]): str(parse_wheel_filename(p.name)[1])
              for p in Path(args.wheels).glob("*.whl")}
    found = {canonicalize_name(d.metadata["Name"]): d.version
             for d in importlib.metadata.distributions(path=[str(site)])}
    missing = sorted(n for n, v in wanted.items() if found.get(n) != v)
    failed = []
    modules = MODULES if args.imports else ["nbmonitor"]
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except Exception as e:
            failed.append(f"{name} ({type(e).__name__}: {e})")
            continue
        if name == "nbmonitor" and site not in Path(mod.__file__).resolve().parents:
            failed.append(f"nbmonitor imported from {mod.__file__}, not from the wheel")
    if not wanted:
        missing = [f"(no wheels in {args.wheels})"]
    line = (f"{len(wanted) - len(missing)} of {len(wanted)} wheels installed"
            + (f", missing {', '.join(missing)}" if missing else "")
            + f"; imports {'failed: ' + '; '.join(failed) if failed else 'ok'} "
            f"({', '.join(modules)})")
    print(line)
    return 1 if missing or failed else 0


if __name__ == "__main__":
    sys.exit(main())
