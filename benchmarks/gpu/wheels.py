"""Download the wheels a GPU machine without a package registry lacks.

``python benchmarks/gpu/wheels.py [DIR]`` (``make gpu-wheels``; default
``build/gpu-wheels``) fills DIR with Python 3.12 manylinux x86_64 wheels for
nbmonitor's needs (``nbmonitor[tune,serve]``: IPython, ipykernel, ipywidgets,
bqplot, optuna, ddsketch, ...) and every package they need in turn, except the
packages the GPU machine's image already holds (``DEVICE``, its own list), plus a
wheel of nbmonitor built from this checkout. One version of each: wheels of other
versions left in DIR from an earlier run are removed. Versions are the ones
installed in the interpreter running this script (the pinned dev environment)
where it has them, so the device runs what the tests here ran.

``benchmarks/gpu/check.sh`` installs DIR into a temporary folder there with
``pip install --no-index --no-deps --target``. DIR/MANIFEST.txt lists the wheels
and their total size, which must stay under ``LIMIT_MB`` (the device tool carries
64 MiB with the checkout).
"""
from __future__ import annotations

import email.parser
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "build" / "gpu-wheels"
LIMIT_MB = 40.0
# What needs carrying: the core dependencies, the tuner (optuna) and the serving
# monitor (ddsketch; its GPU test times CUDA events).
EXTRAS = {"tune", "serve"}
PYTHON = "3.12"
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_26_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64",
             "manylinux_2_31_x86_64", "manylinux_2_34_x86_64", "manylinux_2_35_x86_64",
             "manylinux1_x86_64"]
# The device image's Python packages (nvidia-h200, 'cuda' image, read 2026-11-17).
DEVICE = set(map(canonicalize_name, """
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython
diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic
frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib
jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator
lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes
mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx
ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand
nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging
pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf
psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest
pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz
torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers
treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug
wheel wrapt xarray xxhash yarl zipp
""".split()))


def target_environment() -> dict[str, str]:
    """PEP 508 marker values of the device's interpreter (CPython 3.12, Linux x86_64)."""
    env = default_environment()
    env.update(python_version=PYTHON, python_full_version=PYTHON + ".3",
               implementation_name="cpython", platform_python_implementation="CPython",
               sys_platform="linux", platform_system="Linux", os_name="posix",
               platform_machine="x86_64", implementation_version=PYTHON + ".3")
    return env


def needs(requirements: list[str], extras: set[str], env: dict[str, str]) -> list[Requirement]:
    """The requirements that apply on the device with ``extras`` asked for."""
    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate(dict(env, extra=e))
                                     for e in (extras or {""})):
            out.append(req)
    return out


def local_version(name: str) -> str | None:
    """The version installed in this interpreter, if any."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def wheel_requirements(path: Path) -> list[str]:
    """``Requires-Dist`` lines of a wheel's METADATA."""
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = email.parser.Parser().parsestr(z.read(meta).decode())
    return msg.get_all("Requires-Dist") or []


def pip_download(specs: list[str], dest: Path) -> None:
    """One ``pip download`` of ``specs`` (no dependencies) as device wheels."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
           "--no-deps", "--only-binary=:all:", "--python-version", PYTHON,
           "--implementation", "cp", "-d", str(dest)]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    subprocess.run(cmd + specs, check=True)


def wheels_by_name(dest: Path) -> dict[str, Path]:
    return {canonicalize_name(parse_wheel_filename(p.name)[0]): p for p in dest.glob("*.whl")}


def build_own_wheel(dest: Path) -> Path:
    """A wheel of this checkout's nbmonitor (old ones in ``dest`` removed first)."""
    for old in dest.glob("nbmonitor-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                    "--no-deps", "-w", str(dest), str(ROOT)], check=True)
    return next(dest.glob("nbmonitor-*.whl"))


def collect(dest: Path) -> dict[str, Path]:
    """Download, layer by layer, every wheel the device lacks; returns name -> wheel."""
    env = target_environment()
    own = build_own_wheel(dest)
    want: dict[str, Path] = {"nbmonitor": own}
    todo = needs(wheel_requirements(own), EXTRAS, env)
    while todo:
        layer: dict[str, str] = {}
        extras: dict[str, set[str]] = {}
        for req in todo:
            name = canonicalize_name(req.name)
            if name in DEVICE or name in want or name in layer:
                continue
            extras[name] = set(req.extras)
            version = local_version(req.name)
            if version is not None and not req.specifier.contains(version, prereleases=True):
                version = None
            layer[name] = f"{req.name}=={version}" if version else f"{req.name}{req.specifier}"
        if not layer:
            break
        have = wheels_by_name(dest)
        missing = [spec for name, spec in layer.items()
                   if name not in have or not _matches(have[name], spec)]
        for name in layer:  # an older version of a wanted wheel would clash
            if name in have and not _matches(have[name], layer[name]):
                have[name].unlink()
        if missing:
            pip_download(missing, dest)
        have = wheels_by_name(dest)
        todo = []
        for name in layer:
            want[name] = have[name]
            todo += needs(wheel_requirements(have[name]), extras[name], env)
    return want


def _matches(path: Path, spec: str) -> bool:
    req = Requirement(spec)
    return req.specifier.contains(str(parse_wheel_filename(path.name)[1]), prereleases=True)


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else DEFAULT_DIR
    dest.mkdir(parents=True, exist_ok=True)
    want = collect(dest)
    keep = {p.name for p in want.values()}
    for stale in dest.glob("*.whl"):
        if stale.name not in keep:
            stale.unlink()
    sizes = {p.name: p.stat().st_size for p in want.values()}
    total = sum(sizes.values()) / 1e6
    lines = [f"{size / 1e6:8.2f} MB  {name}" for name, size in sorted(sizes.items())]
    lines.append(f"{total:8.2f} MB  total, {len(sizes)} wheels (limit {LIMIT_MB:.0f} MB)")
    (dest / "MANIFEST.txt").write_text("\n".join(lines) + "\n")
    print(f"{dest}: {len(sizes)} wheels, {total:.1f} MB")
    if total > LIMIT_MB:
        print(f"error: the wheels take {total:.1f} MB, over the {LIMIT_MB:.0f} MB limit",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
