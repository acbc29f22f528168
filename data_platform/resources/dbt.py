"""dbt as gold runs it: dagster-dbt's CLI resource, with dbt's start-up kept to dbt itself.

Three start-up costs of the stock `DbtCliResource` are avoided (most of a one-day gold step's
time before dbt's own work began; figures: `docs/measurements.md#what-the-accelerators-save`):

- Before every command it runs `dbt --version` in a subprocess to tell dbt-core from dbt
  Fusion; dbt-core is a pinned dependency here, imported by dagster-dbt, which knows its version.
- It builds a dbt adapter in the run process, parsing every macro, for
  `fetch_row_counts()`/`fetch_column_metadata()`; gold reads its metadata from the warehouse
  itself (`data_platform/assets/gold_metadata.py`), so no adapter is made.
- Every invocation gets a new target folder, so dbt parses the whole project each time;
  here the target folder is kept beside the warehouse (`Warehouse.dbt_target_dir`), and settings
  reach dbt as environment variables (`Warehouse.dbt_environment`), so dbt re-parses only what
  changed. The warehouse pool lets one dbt build run at a time, so one folder is enough.

The first two are private members of dagster-dbt's resource, overridden in its subclass
`DbtCliWithoutStartupCosts` (`data_platform/compat.py`, a tripwire test each), which
`GoldDbt` extends. The tests of gold run through this class.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliInvocation

from data_platform.compat import DbtCliWithoutStartupCosts

# What a platform run does not need from dbt: unit tests are run by the test suite, not on every
# build, and manifest.json/run_results.json (megabytes) are not read.
RUN_FLAGS = ("--exclude-resource-type", "unit_test", "--no-write-json")


class GoldDbt(DbtCliWithoutStartupCosts):
    """`dbt build` of the selected gold models and their data tests, from a Dagster step."""

    def build(
        self, context: dg.AssetExecutionContext, environment: Mapping[str, str], target: Path
    ) -> DbtCliInvocation:
        """Start `dbt build` for the step's selection, with `environment` added to the process's
        and its artifacts in `target`."""
        with _environment(environment):
            # the subprocess starts inside cli(): it takes the environment with it
            return self.cli(
                ["build", *RUN_FLAGS], context=context, raise_on_error=False, target_path=target
            )


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
