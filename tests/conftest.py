"""Shared fixtures: a landing zone and a lake under the test's own tmp_path."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_deltalake import LocalConfig

from data_platform import settings
from data_platform.contracts import entity_named
from data_platform.definitions import build_definitions
from data_platform.resources.lake import Lake
from data_platform.resources.lake_io_manager import LakeIOManager
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.warehouse import Warehouse


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def resources(landing_dir: Path, lake_dir: Path, warehouse_path: Path) -> dict[str, object]:
    """The platform's resources, with every location under the test's tmp_path."""
    return {
        **settings.resources(),
        "landing_zone": LandingZone(url=str(landing_dir)),
        "lake_io_manager": LakeIOManager(root_uri=str(lake_dir), storage_options=LocalConfig()),
        "lake": Lake(root_uri=str(lake_dir)),
        "warehouse": Warehouse(path=str(warehouse_path), lake_dir=str(lake_dir)),
    }


@pytest.fixture(scope="session")
def platform_assets() -> list[dg.AssetsDefinition]:
    return [a for a in build_definitions().assets if isinstance(a, dg.AssetsDefinition)]


class Landing:
    """Drops files into a test landing zone, with controlled landing times."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()

    def drop(self, relative: str, content: bytes | str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.clock += 60
        os.utime(path, (self.clock, self.clock))
        return path


@pytest.fixture
def landing(landing_dir: Path) -> Landing:
    return Landing(landing_dir)


def materialize_layers(
    assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    entity: str,
    partition: str | None = None,
    *,
    partition_range: tuple[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize bronze, silver and quarantine of one entity (one partition or a range)."""
    selected = [
        a
        for a in assets
        if any(key.path[-1] == entity and key.path[0] in ("bronze", "silver") for key in a.keys)
    ]
    tags = {}
    if partition_range:
        tags = {
            "dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1],
        }
    result = dg.materialize(selected, resources=resources, partition_key=partition, tags=tags)
    assert result.success
    return result


def read_table(lake_dir: Path, layer: str, entity: str) -> pl.DataFrame:
    return pl.read_delta(str(lake_dir / layer / entity))


def delete_record(entity: str, changed_at: str = "2024-05-01T00:00:00Z", **key: object) -> str:
    """A `.tbl` delete record: only the key columns filled, then `_op` and `_changed_at`."""
    columns = entity_named(entity).column_names
    return "|".join([*(str(key.get(c, "")) for c in columns), "D", changed_at]) + "|\n"
