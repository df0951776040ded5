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

install: $(STAMP)

demo: install
	$(BIN)/packtrail demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/bench_gs1.py --write bench/RESULTS.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
