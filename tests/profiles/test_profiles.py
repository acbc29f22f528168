"""PLATFORM_PROFILE chooses the resources and the executor, and nothing else does."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from data_platform import profiles, settings
from data_platform.definitions import build_definitions
from data_platform.resources.warehouse import Warehouse

PRODUCTION_LOCATIONS = {
    settings.LANDING_DIR: "s3://platform/landing",
    settings.LAKE_DIR: "s3://platform/lake",
    settings.GOLD_DATA_PATH: "s3://platform/gold/",
}


def test_the_local_profile_runs_steps_in_process_on_a_duckdb_file() -> None:
    definitions = build_definitions()
    warehouse = definitions.resources["warehouse"]
    assert isinstance(warehouse, Warehouse)
    assert not warehouse.is_ducklake
    assert definitions.executor is not None
    assert definitions.executor.name == "in_process"


def test_the_production_profile_runs_steps_on_celery_with_gold_in_a_ducklake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.PROFILE, "production")
    for name, location in PRODUCTION_LOCATIONS.items():
        monkeypatch.setenv(name, location)
    definitions = build_definitions()
    warehouse = definitions.resources["warehouse"]
    assert isinstance(warehouse, Warehouse)
    assert warehouse.is_ducklake
    assert warehouse.dbt_target == "ducklake"
    assert definitions.resources["dbt"].target == "ducklake"
    assert definitions.executor is not None
    assert definitions.executor.name == "celery_workers"


def test_the_production_profile_refuses_a_layer_on_local_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.PROFILE, "production")
    for name, location in PRODUCTION_LOCATIONS.items():
        monkeypatch.setenv(name, location)
    monkeypatch.setenv(settings.LAKE_DIR, "data/lake")
    with pytest.raises(ValueError, match="PLATFORM_LAKE_DIR to an s3:// URL"):
        profiles.resources()


def test_an_unknown_profile_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.PROFILE, "staging")
    with pytest.raises(ValueError, match="choose one of local, production"):
        profiles.resources()


def test_the_production_instance_needs_nothing_from_the_platform_package() -> None:
    instance = yaml.safe_load(profiles.instance_template("production").read_text())

    def modules(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [str(node["module"])] if "module" in node else []
            return found + [m for value in node.values() for m in modules(value)]
        return []

    assert all(not module.startswith("data_platform") for module in modules(instance))
    assert "postgres" in instance["storage"]
    assert instance["run_retries"]["enabled"]
    assert instance["run_monitoring"]["enabled"]


@pytest.mark.parametrize("profile", ["local", "production"])
def test_dbt_gets_the_first_business_date_the_partitions_start_at(
    profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TPC-H reports' dates (`macros/tpch_calendar.sql`) move with the partitions' start."""
    monkeypatch.setenv(settings.PROFILE, profile)
    for name, location in PRODUCTION_LOCATIONS.items():
        monkeypatch.setenv(name, location)
    monkeypatch.setenv(settings.PARTITIONS_START, "2020-04-30")
    definitions = build_definitions()
    with dg.build_resources({"warehouse": definitions.resources["warehouse"]}) as built:
        assert built.warehouse.dbt_environment()[settings.PARTITIONS_START] == "2020-04-30"
