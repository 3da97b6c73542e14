#!/usr/bin/env bash
# Everything GPU-specific in one command, for a machine with a CUDA GPU and no
# package registry (see docs/gpu.md):
#
#   bash benchmarks/gpu/check.sh            # on the GPU machine
#   bash benchmarks/gpu/check.sh --dry-run  # here, on the CPU: the same steps, tiny sizes
#
# 1. installs the wheels of `make gpu-wheels` (build/gpu-wheels, or
#    $NBMONITOR_GPU_WHEELS) into a temporary folder with pip --no-index --no-deps
#    --target, and checks that each one installed and that the packages import;
# 2. runs the GPU tests (`pytest -m gpu` over the test files that have any);
# 3. runs benchmarks/gpu/bench_cuda.py.
# Writes $OUT/gpu-results.md (summary, tables and the raw numbers as JSON) and
# $OUT/gpu-check.log (everything printed); $OUT defaults to build/gpu-out.
# Exit status: 0 when every step passed (in a dry run: the GPU tests skipped).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "usage: bash benchmarks/gpu/check.sh [--dry-run]" >&2; exit 2 ;;
esac
PY=${PYTHON:-python3}
WHEELS=${NBMONITOR_GPU_WHEELS:-build/gpu-wheels}
OUT=${OUT:-build/gpu-out}
TEST_LIMIT=${NBMONITOR_GPU_TEST_LIMIT:-240}    # seconds; the whole check must fit in 8 min
BENCH_LIMIT=${NBMONITOR_GPU_BENCH_LIMIT:-200}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/gpu-check.log
: >"$LOG"
SITE=$(mktemp -d "${TMPDIR:-/tmp}/nbm-gpu-site-XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nbm-gpu-work-XXXXXX")
trap 'rm -rf "$SITE" "$WORK"' EXIT
say() { echo "[gpu-check $(date +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }

shopt -s nullglob
wheels=("$WHEELS"/*.whl)
if [ ${#wheels[@]} -eq 0 ]; then
  say "error: no wheels in $WHEELS: run 'make gpu-wheels' where a registry is reachable"
  exit 2
fi
WHEELS=$(cd "$WHEELS" && pwd)
wheels=("$WHEELS"/*.whl)

# -- 1. wheels -----------------------------------------------------------------
say "installing ${#wheels[@]} wheels from $WHEELS into $SITE"
pipargs=(-q --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir
         --target "$SITE")
same=$("$PY" -c 'import sys; print(int(sys.version_info[:2] == (3, 12)))')
if [ "$same" != 1 ]; then
  # Another Python here: install for the device's CPython 3.12 (tags checked, not run).
  pipargs+=(--only-binary=:all: --python-version 3.12 --implementation cp
            --abi cp312 --abi abi3 --abi none)
  for p in manylinux1 manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_26 \
           manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34 manylinux_2_35; do
    pipargs+=(--platform "${p}_x86_64")
  done
  pipargs+=(--platform any)
fi
if "$PY" -m pip install "${pipargs[@]}" "${wheels[@]}" >>"$LOG" 2>&1; then
  install=passed
else
  install=failed
fi
imports=$(cd "$WORK" && PYTHONPATH="$SITE" "$PY" "$ROOT/benchmarks/gpu/site_check.py" \
            "$SITE" "$WHEELS" --import "$same" 2>>"$LOG")
[ $? -eq 0 ] && [ "$install" = passed ] || install=failed
say "wheels: $install; $imports"

# -- 2. GPU tests --------------------------------------------------------------
export PYTHONPATH="$ROOT:$SITE"   # the checkout's nbmonitor, the wheels' dependencies
export MPLBACKEND=Agg NBMONITOR_STORE="$WORK/runs.db"
files=$(grep -l 'mark.gpu' tests/test_*.py | tr '\n' ' ')
say "pytest -m gpu $files"
timeout "$TEST_LIMIT" "$PY" -m pytest -q -p no:cacheprovider -m gpu -rs $files \
  >"$WORK/pytest.txt" 2>&1
tests_rc=$?
cat "$WORK/pytest.txt" >>"$LOG"
tests_line=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|error|deselected)' "$WORK/pytest.txt" \
             | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
tests_line=${tests_line:-no summary}
say "tests: $tests_line (exit $tests_rc)"

# -- 3. benchmark --------------------------------------------------------------
benchargs=(--out "$WORK")
[ $DRY = 1 ] && benchargs+=(--dry-run)
say "bench_cuda.py ${benchargs[*]}"
timeout "$BENCH_LIMIT" "$PY" benchmarks/gpu/bench_cuda.py "${benchargs[@]}" \
  >"$WORK/bench.md" 2>>"$LOG"
bench_rc=$?
cat "$WORK/bench.md" >>"$LOG"
say "bench: exit $bench_rc"

# -- results -------------------------------------------------------------------
"$PY" benchmarks/gpu/report.py --dry "$DRY" --install "$install" --imports "$imports" \
  --tests-rc "$tests_rc" --tests-line "$tests_line" \
  --pytest "$WORK/pytest.txt" --bench-rc "$bench_rc" --bench-md "$WORK/bench.md" \
  --bench-json "$WORK/bench_cuda.json" >"$OUT/gpu-results.md"
say "wrote $OUT/gpu-results.md and $LOG"
cat "$OUT/gpu-results.md"

[ "$install" = passed ] && [ $tests_rc -eq 0 ] && [ $bench_rc -eq 0 ] || exit 1
case "$tests_line" in *failed*|*error*|"no summary") exit 1 ;; esac
exit 0
