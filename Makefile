# txmon: two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_SECONDS ?=
BENCH_EVENTS ?= 20000

.DEFAULT_GOAL := help
.PHONY: help install demo test lint unit e2e schema bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "txmon needs $(PYTHON) on PATH (or run: make PYTHON=/path/to/python3.11 ...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install txmon with its dev tools (idempotent)

demo: $(STAMP) ## Broker + worker + simulator; alerts and metrics live (DEMO_SECONDS=n to stop)
	$(BIN)/txmon demo $(if $(DEMO_SECONDS),--seconds $(DEMO_SECONDS),)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check models detectors streams tests benchmarks
	$(BIN)/mypy

unit: $(STAMP) ## Fast tests (no broker)
	$(BIN)/pytest -q -m "not broker"

e2e: $(STAMP) ## End-to-end tests against the embedded broker
	$(BIN)/pytest -q -m broker

test: lint ## Lint, then the whole suite (unit + end-to-end)
	$(BIN)/txmon schema --check
	$(BIN)/pytest -q

schema: $(STAMP) ## Regenerate the committed JSON Schemas from the models
	$(BIN)/txmon schema

bench: $(STAMP) ## Throughput/latency/RSS of txmon vs raw aiokafka and a read-only Faust agent
	$(BIN)/python benchmarks/bench_pipeline.py --events $(BENCH_EVENTS)

clean: ## Remove the venv and local state
	rm -rf $(VENV) .txmon demo-output bench-output .pytest_cache .mypy_cache .ruff_cache
