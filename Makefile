# ml-roadmap: `make run` trains every stage, `make test` checks everything.
# The virtual environment lives in $(VENV) (CI points it at a cache outside the clone) and is
# (re)built whenever pyproject.toml or constraints.txt change.
VENV ?= .venv
PYTHON ?= python3
EXTRAS ?= dev,serve,mobile
PY := $(VENV)/bin/python
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: venv run run-quick test lint bench bench-serve clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

run: venv ## every available stage in order, default settings, then a summary table
	$(VENV)/bin/mlcourse run all

run-quick: venv ## the same in smoke mode (seconds per lesson)
	$(VENV)/bin/mlcourse run all --quick

test: venv lint ## the default test suite, plus lint and the import-layer contracts
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: venv ## benchmarks and long runs (not part of `make test`)
	$(PY) -m pytest -m "bench" -o addopts="-ra --strict-markers" -s

bench-serve: venv ## the service benchmark: in-process latency, then HTTP load with wrk
	$(PY) -m stage5a_integration.bench

clean:
	rm -rf runs .pytest_cache .ruff_cache
