# pactwatch — the two commands of the README's Quick start, and a few more.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: run test test-fast lint typecheck pytest bench lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A changed pyproject.toml (dependencies, entry points) reinstalls.
BUILD_INPUTS := pyproject.toml

$(STAMP_RUN): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The cluster extra too: `make test` runs tests/cluster against the machine's PostgreSQL.
$(STAMP_DEV): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $@ $(STAMP_RUN)

# The benchmarks' extra: reader, the poll benchmark's peer.
$(STAMP_BENCH): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,cluster]'
	touch $@ $(STAMP_DEV) $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/pactwatch run

test: $(STAMP_DEV) lint typecheck pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot
	$(BIN)/lint-imports

typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict bot

pytest: $(STAMP_DEV)
	$(BIN)/pytest -q -rs

# Everything but the tests marked slow: for a quick loop while editing (make test runs them all).
test-fast: $(STAMP_DEV) lint typecheck
	$(BIN)/pytest -q -rs -m "not slow"

bench: $(STAMP_BENCH)
	$(BIN)/python benchmarks/bench_match.py
	$(BIN)/python benchmarks/bench_poll.py

# Pins for the Docker image (the cluster extra's too: the image runs `pactwatch worker` and `gateway`);
# pyproject.toml keeps the ranges.
lock: $(STAMP_DEV)
	$(BIN)/python -m pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip compile pyproject.toml --extra cluster --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
