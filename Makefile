# ml-roadmap: `make run` trains every stage, `make test` checks everything.
# The virtual environment lives in $(VENV) (CI points it at a cache outside the clone) and is
# (re)built whenever pyproject.toml or constraints.txt change. `npm ci` installs the web app's
# JavaScript side (ONNX Runtime Web, pinned by package-lock.json) into node_modules/.
VENV ?= .venv
PYTHON ?= python3
EXTRAS ?= dev,serve,mobile
PY := $(VENV)/bin/python
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
NODE_STAMP := node_modules/.installed
# TFLite (litert-torch) downgrades packages the service needs: it gets an environment of its own.
TFLITE_VENV ?= .venv-tflite
TFLITE_PY := $(TFLITE_VENV)/bin/python
TFLITE_STAMP := $(TFLITE_VENV)/.installed
BUNDLE ?= runs/stage4_own_data/bundle

.PHONY: venv run run-quick test lint bench bench-serve tflite web-app clean

venv: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

# Without npm everything else still works; the web app says what is missing (its tests skip,
# and fail under CI=true).
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else \
		echo "warning: npm not found: stage 5b's web app needs Node.js and npm (apt-get install nodejs npm)" >&2; \
	fi

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

web-app: venv ## stage 5b's offline web app, served on http://127.0.0.1:8000/
	$(PY) -m stage5b_on_device.web_app --serve

$(TFLITE_STAMP): pyproject.toml constraints-tflite.txt
	@test -x $(TFLITE_PY) || $(PYTHON) -m venv $(TFLITE_VENV)
	$(TFLITE_PY) -m pip install --quiet --upgrade pip
	$(TFLITE_PY) -m pip install --quiet -c constraints-tflite.txt -e ".[tflite]"
	@touch $@

$(BUNDLE)/manifest.json: | $(TFLITE_STAMP)
	$(TFLITE_PY) -m stage4_own_data.pipeline --quick --out $(BUNDLE)

tflite: $(TFLITE_STAMP) $(BUNDLE)/manifest.json ## TFLite: convert, run with LiteRT, check parity
	$(TFLITE_PY) -m stage5b_on_device.export_mobile --bundle $(BUNDLE) --quick \
		--require tflite --require tflite-int8 --out runs/stage5b_on_device/export_mobile_tflite --json

clean:
	rm -rf runs .pytest_cache .ruff_cache
