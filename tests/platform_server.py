"""The platform as a user runs it, for the slow tests: `dagster dev` (`deploy/local_dev.py`:
webserver, daemon, code server in one process group) over locations in one temporary folder, and
what the tests wait for."""

import os
from pathlib import Path
from typing import Protocol

import dagster as dg

from data_platform.catalog.keys import gold_key
from deploy import local_dev
from deploy.local_dev import REPO
from deploy.production_stack import until


def materialized_after(
    instance: dg.DagsterInstance, key: dg.AssetKey, since: float, partition: str | None
) -> float:
    """When `key` (or one partition of it) was first materialized after `since`; 0 if not yet."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=key,
            asset_partitions=[partition] if partition else None,
            after_timestamp=since,
        ),
        limit=1,
    ).records
    return records[0].timestamp if records else 0.0


# the daily mart the end-to-end tests follow a landed day into
DAILY_GOLD = gold_key("daily_revenue_by_nation")


class Settles(Protocol):
    """A running platform (`dagster dev`, or the production stack) the slow tests watch."""

    def materialized_after(
        self, key: dg.AssetKey, since: float, partition: str | None
    ) -> float: ...

    def idle(self) -> bool: ...


def day_in_gold(platform: Settles, day: str, since: float, why: str, timeout: float = 600) -> float:
    """When `day` of the daily mart was built after `since`; returns once the runs have ended."""
    done = until(
        lambda: platform.materialized_after(DAILY_GOLD, since, day), timeout=timeout, why=why
    )
    until(platform.idle, timeout=600, why=f"the runs of {day} to end")
    return done


class DagsterDev(local_dev.DagsterDev):
    """`dagster dev` with its landing zone, lake, warehouse and `DAGSTER_HOME` under `root`, the
    instance configured as `make run` configures it; `env` adds or overrides settings."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.landing, self.warehouse = root / "landing", root / "warehouse.duckdb"
        self.landing.mkdir(parents=True, exist_ok=True)
        settings = {
            "PLATFORM_LANDING_DIR": str(self.landing),
            "PLATFORM_LAKE_DIR": str(root / "lake"),
            "PLATFORM_WAREHOUSE_PATH": str(self.warehouse),
            **(env or {}),
        }
        instance_yaml = REPO / "config" / "local" / "dagster.yaml"
        super().__init__(root / "dagster_home", settings, instance_yaml)
        self._instance: dg.DagsterInstance | None = None

    def instance(self) -> dg.DagsterInstance:
        """The same instance, opened from this process (reads only)."""
        if self._instance is None:
            # the configured event log finds its folder from DAGSTER_HOME, as in the daemon
            previous = os.environ.get("DAGSTER_HOME")
            os.environ["DAGSTER_HOME"] = str(self.home)
            try:
                self._instance = dg.DagsterInstance.get()
            finally:
                if previous is None:
                    del os.environ["DAGSTER_HOME"]
                else:
                    os.environ["DAGSTER_HOME"] = previous
        return self._instance
