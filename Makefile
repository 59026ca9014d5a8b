# Two entry points (see README): `make run` trains the default model; `make test` runs the tests.
# Each creates .venv on first use and installs what it needs into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

$(VENV)/.run-deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[all]'
	touch $@

$(VENV)/.test-deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,mpi]'
	touch $@

.PHONY: run test bench
run: $(VENV)/.run-deps
	$(VENV)/bin/chainrule train

# two pytest workers on two cores: one BLAS thread each, or the workers' thread pools thrash
test: $(VENV)/.test-deps
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n 2 -p no:cacheprovider

bench: $(VENV)/.test-deps
	$(PY) benchmarks/bench_engine.py
