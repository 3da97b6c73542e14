# Every target sets itself up on a fresh machine: it creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-kernels lab bench chromium postgres clean gpu-wheels

$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt -e .
	touch $(STAMP)

# Debian's Chromium drives the browser tests (no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; }

# Debian's PostgreSQL server binaries: the tests start a throwaway server of their own
# (initdb + pg_ctl in a temporary directory, see tests/pg_server.py); none is left running.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql && \
	  { $(SUDO) service postgresql stop >/dev/null 2>&1 || true; }; }

demo: $(STAMP)
	mkdir -p build
	$(VENV)/bin/jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb \
	  --ExecutePreprocessor.timeout=600 --output-dir build --output quickstart.ipynb
	$(VENV)/bin/jupyter nbconvert --to html build/quickstart.ipynb --output-dir build
	@echo "wrote build/quickstart.ipynb and build/quickstart.html"

test: $(STAMP) chromium postgres gpu-wheels
	$(PY) -m pytest -q -p no:cacheprovider

# Wheels for a GPU machine with no package registry (Python 3.12, manylinux x86_64):
# what its image lacks, plus nbmonitor from this checkout. benchmarks/gpu/check.sh
# installs them there (docs/gpu.md); tests/test_gpu_check.py dry-runs it here.
GPU_WHEELS := build/gpu-wheels
$(GPU_WHEELS)/MANIFEST.txt: $(STAMP) benchmarks/gpu/wheels.py $(shell find nbmonitor -name '*.py')
	$(PY) benchmarks/gpu/wheels.py $(GPU_WHEELS)
gpu-wheels: $(GPU_WHEELS)/MANIFEST.txt

# tests/test_kernel_comms.py against each ipykernel of the matrix: one venv per version
# under .venv-kernels/, layered over .venv like .venv-bench (its own site-packages hold
# the pinned ipykernel and whatever dependency it needs otherwise; the rest is .venv's,
# through a .pth), pins kept but ipykernel's. Table: build/kernel-matrix.md.
KERNELS ?= 6.31.0 7.3.0 7.4.0
test-kernels: $(STAMP)
	mkdir -p build/kernel-matrix
	rm -f build/kernel-matrix/*.json
	grep -v '^ipykernel==' requirements-dev.txt > build/kernel-matrix/constraints.txt
	status=0; for v in $(KERNELS); do \
	  kpy=.venv-kernels/$$v/bin/python; \
	  $(PY) benchmarks/bench_venv.py .venv-kernels/$$v >/dev/null && \
	  $$kpy -m pip install -q -c build/kernel-matrix/constraints.txt ipykernel==$$v && \
	  NBMONITOR_KERNEL_PYTHON=$(CURDIR)/$$kpy \
	  NBMONITOR_KERNEL_RESULTS=build/kernel-matrix/$$v.json \
	  $(PY) -m pytest -q -p no:cacheprovider tests/test_kernel_comms.py || status=1; \
	done; \
	$(PY) -m tests.kernel_matrix build/kernel-matrix build/kernel-matrix.md && exit $$status

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# The peers go into .venv-bench, layered over .venv (see benchmarks/bench_venv.py),
# so their older pillow/filelock/dateutil never reach the test venv.
BENCH_PY := .venv-bench/bin/python
bench: $(STAMP)
	$(PY) benchmarks/bench_venv.py .venv-bench
	$(BENCH_PY) -m pip install -q -c requirements-dev.txt -e '.[bench]'
	$(BENCH_PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf build .pytest_cache .venv-bench .venv-kernels
