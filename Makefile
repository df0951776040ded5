# Every target creates and uses .venv itself: on a fresh machine with Python 3.11+,
# `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	touch $(STAMP)

# The compiled twins of the capture's hot modules (packtrail.native): rebuilt when a source changed;
# without a C compiler the build says so and the Python sources run. `make test NATIVE=0` skips the
# build while you edit one of them (stale twins are set aside: the sources run).
NATIVE ?= 1
install: $(STAMP)
	test "$(NATIVE)" = 0 || $(BIN)/python -m packtrail.native_build build --if-stale

demo: install
	$(BIN)/packtrail demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# The EPCIS event-hash reference implementation (MIT, PyPI) runs in its own venv: it pins
# libraries packtrail does not want in its own environment.
REF    := .venv-ref

bench: install
	test -x $(REF)/bin/python || ($(PYTHON) -m venv $(REF) && $(REF)/bin/python -m pip install -q epcis-event-hash-generator)
	$(BIN)/python bench/bench_gs1.py --write bench/RESULTS.md
	PACKTRAIL_EPCIS_HASH_REF_PYTHON=$(REF)/bin/python $(BIN)/python bench/bench_epcis.py --write bench/RESULTS.md

clean:
	rm -rf $(VENV) $(REF) .mypy_cache .ruff_cache .pytest_cache src/packtrail/native.json
	find src -name "*.so" -delete
