"""The code location loads, and every entity has its layers, groups, partitions and policies."""

import datetime as dt

import dagster as dg
import pytest

from data_platform.contracts import ENTITIES
from data_platform.definitions import build_definitions, defs


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return build_definitions()


def test_code_location_loads_without_errors() -> None:
    loaded = defs()
    loaded.validate_loadable(loaded)
    assert loaded.resolve_asset_graph().get_all_asset_keys()


def test_code_location_loads_with_landing_and_lake_on_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_LANDING_DIR", "s3://bucket/landing")
    monkeypatch.setenv("PLATFORM_LAKE_DIR", "s3://bucket/lake")
    for variable in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ):
        monkeypatch.setenv(variable, "set")
    loaded = defs()
    loaded.validate_loadable(loaded)


def test_every_entity_has_bronze_silver_and_quarantine(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for entity in ENTITIES:
        for layer, group in (("bronze", "bronze"), ("silver", "silver"), ("quarantine", "silver")):
            node = graph.get(dg.AssetKey([layer, entity.name]))
            assert node.group_name == group
            assert node.description
            assert (node.partitions_def is not None) == entity.partitioned
        silver = graph.get(dg.AssetKey(["silver", entity.name]))
        assert dg.AssetKey(["bronze", entity.name]) in silver.parent_keys


def test_partitioned_assets_backfill_in_a_single_run(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is not None:
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_todays_partition_exists(definitions: dg.Definitions) -> None:
    partitions = (
        definitions.resolve_asset_graph().get(dg.AssetKey(["bronze", "orders"])).partitions_def
    )
    assert partitions is not None
    keys = partitions.get_partition_keys()
    assert keys[0] == "1992-01-01"
    assert keys[-1] == dt.datetime.now(dt.UTC).date().isoformat()


def test_partition_start_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_PARTITIONS_START", "2020-06-01")
    partitions = (
        build_definitions()
        .resolve_asset_graph()
        .get(dg.AssetKey(["silver", "orders"]))
        .partitions_def
    )
    assert partitions is not None
    assert partitions.get_first_partition_key() == "2020-06-01"


def test_storage_locations_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_LAKE_DIR", "/somewhere/lake")
    monkeypatch.setenv("PLATFORM_LANDING_DIR", "/somewhere/landing")
    resources = build_definitions().resources
    lake = resources["lake_io_manager"].root_uri  # type: ignore[attr-defined]
    landing = resources["landing_zone"].url  # type: ignore[attr-defined]
    assert isinstance(lake, dg.EnvVar)
    assert lake.get_value() == "/somewhere/lake"
    assert isinstance(landing, dg.EnvVar)
    assert landing.get_value() == "/somewhere/landing"


def test_local_defaults_apply_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLATFORM_LAKE_DIR", "PLATFORM_LANDING_DIR"):
        monkeypatch.delenv(name, raising=False)
    resources = build_definitions().resources
    assert resources["lake_io_manager"].root_uri == "data/lake"  # type: ignore[attr-defined]
    assert resources["landing_zone"].url == "data/landing"  # type: ignore[attr-defined]
