# The README's commands. `make run` and `make test` set everything up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SF ?= 0.01

export PLATFORM_LANDING_DIR ?= data/landing
export PLATFORM_LAKE_DIR ?= data/lake
export PLATFORM_WAREHOUSE_PATH ?= data/warehouse.duckdb
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: help install run run-prod test test-fast demo-data dbt-parse dagster-home bench lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/dagster: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.8
	# bytecode is compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, and every run
	# worker would otherwise recompile Dagster from source at start
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(BIN)/dagster  ## create .venv with the pinned dependencies

demo-data: install  ## generate TPC-H demo landing files (SF=$(SF)) unless some are there
	@if [ -z "$$(ls -A $(PLATFORM_LANDING_DIR) 2>/dev/null)" ]; then \
		$(BIN)/python -m data_platform.simulate --sf $(SF) --out $(PLATFORM_LANDING_DIR); \
	else echo "landing zone $(PLATFORM_LANDING_DIR) already has data"; fi

dbt-parse: install  ## write dbt_project/target/manifest.json, which the code location loads
	$(BIN)/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp config/local/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: demo-data dbt-parse dagster-home  ## run the platform locally: Dagster UI and daemon on http://127.0.0.1:3000
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

run-prod: install dbt-parse  ## run the production profile on this machine's PostgreSQL and RabbitMQ (S3: moto)
	$(BIN)/python -m deploy.production_stack --root data/production --sf $(SF)

test: install dbt-parse  ## run the whole test suite (lint, types, fast and slow tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --ignore=tests/e2e --ignore=tests/production
	# the platform with its daemon, alone on the machine: its tests record how long it takes
	$(BIN)/pytest tests/e2e
	# the production profile: PostgreSQL, RabbitMQ, an S3 server, Celery workers, one at a time
	$(BIN)/pytest tests/production

test-fast: install dbt-parse  ## run the fast tests only
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow"

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:  ## remove generated data (landing, lake, warehouse, Dagster home)
	rm -rf data

bench: install dbt-parse  ## benchmark the full-history backfill against plain DuckDB (SF=1 by default)
	$(BIN)/python -m benchmarks.run --sf $(if $(filter command line,$(origin SF)),$(SF),1)
