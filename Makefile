# Every target sets itself up on a fresh machine: it creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lab bench chromium clean

$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt -e .
	touch $(STAMP)

# Debian's Chromium drives the browser tests (no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; }

demo: $(STAMP)
	mkdir -p build
	$(VENV)/bin/jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb \
	  --ExecutePreprocessor.timeout=600 --output-dir build --output quickstart.ipynb
	$(VENV)/bin/jupyter nbconvert --to html build/quickstart.ipynb --output-dir build
	@echo "wrote build/quickstart.ipynb and build/quickstart.html"

test: $(STAMP) chromium
	$(PY) -m pytest -q -p no:cacheprovider

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
	rm -rf build .pytest_cache .venv-bench
