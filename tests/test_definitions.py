"""The code location loads, and every entity has its layers, groups, partitions and policies."""

import datetime as dt
import logging
from pathlib import Path

import dagster as dg
import pytest

from data_platform.catalog.keys import LANDING_ZONE
from data_platform.contracts import ENTITIES
from data_platform.definitions import build_definitions, defs
from tests.conftest import local_dagster_home


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


def test_every_asset_opens_with_one_business_sentence(definitions: dg.Definitions) -> None:
    """The graph shows the first line of a description: it must be one whole, short sentence."""
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        description = graph.get(key).description or ""
        first_line = description.splitlines()[0] if description else ""
        assert first_line.endswith("."), key
        assert ". " not in first_line, key
        assert len(first_line) <= 120, key


def test_every_asset_has_its_layer_owner_and_kinds(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    groups = {
        "bronze": "bronze",
        "silver": "silver",
        "quarantine": "silver",
        "gold": "gold",
        "quality": "quality",
    }
    storage = {
        "bronze": "delta",
        "silver": "delta",
        "quarantine": "delta",
        "gold": "duckdb",
        "quality": "duckdb",
    }
    for key in graph.get_all_asset_keys():
        node, layer = graph.get(key), key.path[0]
        assert node.tags["layer"] == layer, key
        assert node.owners == ["team:data-platform"], key
        if not node.is_materializable:
            # the landing zone: a source the platform observes, shown beside bronze
            assert (key, node.group_name, node.kinds) == (LANDING_ZONE, "bronze", {"files"})
            continue
        assert node.group_name == groups[layer], key
        assert storage[layer] in node.kinds, key
        assert {"polars", "dbt"} & set(node.kinds), key


def test_every_asset_documents_each_column_with_a_type(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        schema = graph.get(key).metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema), key
        assert schema.columns, key
        for column in schema.columns:
            assert column.type not in ("", "?"), (key, column.name)
            assert column.description, (key, column.name)


def test_silver_and_its_quarantine_link_each_other(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for entity in ENTITIES:
        silver, quarantine = (
            dg.AssetKey([layer, entity.name]) for layer in ("silver", "quarantine")
        )
        assert graph.get(silver).metadata["quarantine_table"] == dg.MetadataValue.asset(quarantine)
        assert graph.get(quarantine).metadata["silver_table"] == dg.MetadataValue.asset(silver)
        assert f"`{quarantine.to_user_string()}`" in (graph.get(silver).description or "")
        assert f"`{silver.to_user_string()}`" in (graph.get(quarantine).description or "")


def test_a_run_prints_info_and_up_while_its_event_log_keeps_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """`make run`'s terminal shows what an operator needs, not a DEBUG line per partition."""
    monkeypatch.setenv("PLATFORM_LAKE_DIR", str(tmp_path / "lake"))
    local_dagster_home(tmp_path / "home", monkeypatch)
    job = build_definitions().resolve_job_def("lake_maintenance_job")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance)
        levels = {
            record.level for record in instance.all_logs(result.run_id) if record.is_dagster_event
        }
    printed = capfd.readouterr().err
    assert result.success
    assert logging.DEBUG in levels  # e.g. the op's output handled: kept for the UI
    assert " - INFO - " in printed
    assert " - DEBUG - " not in printed
