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

.PHONY: help install run run-prod test test-fast lint-sql screenshots demo-data dbt-parse dagster-home bench lock clean

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

# The demo's calendar: TPC-H lands shifted so its newest order is yesterday, and the daily
# partitions start at its first order date (PLATFORM_PARTITIONS_START, written here by the
# simulator when it lands the data, read by `make run`).
DEMO_ENV := data/demo.env

demo-data: install  ## land TPC-H (SF=$(SF)) as daily drops ending yesterday, unless some are there
	@if [ -z "$$(ls -A $(PLATFORM_LANDING_DIR) 2>/dev/null)" ]; then \
		mkdir -p $(dir $(DEMO_ENV)) && \
		$(BIN)/python -m data_platform.simulate --sf $(SF) --out $(PLATFORM_LANDING_DIR) \
			--newest-order yesterday --env-file $(DEMO_ENV); \
	else echo "landing zone $(PLATFORM_LANDING_DIR) already has data"; fi

dbt-parse: install  ## write dbt_project/target/manifest.json, which the code location loads
	$(BIN)/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

dagster-home:
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp config/local/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: demo-data dbt-parse dagster-home  ## run the platform locally: Dagster UI and daemon on http://127.0.0.1:3000
	set -a && if [ -f $(DEMO_ENV) ]; then . ./$(DEMO_ENV); fi && set +a && \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

run-prod: install dbt-parse  ## run the production profile on this machine's PostgreSQL and RabbitMQ (S3: moto)
	$(BIN)/python -m deploy.production_stack --root data/production --sf $(SF)

test: install dbt-parse dagster-home  ## run the whole test suite (lint, types, fast and slow tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# the code location loads, as `dg dev` and `make run` load it ([tool.dg] in pyproject.toml)
	$(BIN)/dg check defs
	$(MAKE) --no-print-directory lint-sql
	$(BIN)/pytest -n 2 --dist loadfile --ignore=tests/e2e --ignore=tests/production
	# the platform with its daemon, alone on the machine: its tests record how long it takes
	$(BIN)/pytest tests/e2e
	# the production profile: PostgreSQL, RabbitMQ, an S3 server, Celery workers, one at a time
	$(BIN)/pytest tests/production

lint-sql: install  ## lint the dbt project's SQL (sqlfluff with the dbt templater: .sqlfluff)
	# dbt's templater opens a connection to the target: an in-memory DuckDB, not the warehouse,
	# with the extensions of the duckdb-ext-* wheels
	PLATFORM_WAREHOUSE_PATH=:memory: \
	DUCKDB_EXTENSION_DIRECTORY="$$($(BIN)/python -c 'from data_platform.resources.duckdb_extensions import extension_directory; print(extension_directory())')" \
		$(BIN)/sqlfluff lint dbt_project

screenshots: install dbt-parse  ## refresh the walkthrough's screenshots in docs/ from a real browser
	PLATFORM_SCREENSHOTS=1 $(BIN)/pytest tests/browser

test-fast: install dbt-parse  ## run the fast tests only
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow"

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:  ## remove generated data (landing, lake, warehouse, Dagster home)
	rm -rf data

bench: install dbt-parse  ## benchmark the full-history backfill against plain DuckDB (SF=1 by default)
	$(BIN)/python -m benchmarks.run --sf $(if $(filter command line,$(origin SF)),$(SF),1)
