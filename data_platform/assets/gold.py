"""Gold: business marts built by the dbt project in `dbt_project/` on the DuckDB warehouse."""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from data_platform.resources.warehouse import WAREHOUSE_POOL, Warehouse

DBT_PROJECT_DIR = Path(__file__).parents[2] / "dbt_project"
# Models tagged `daily` are daily-partitioned and rebuilt one window at a time.
DAILY_SELECTION = "tag:daily"


def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target="local")


class GoldTranslator(DagsterDbtTranslator):
    """The one place dbt resources get their asset keys: models are `gold/<model>`, sources keep
    the silver keys their generated definitions declare."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        return spec.replace_attributes(
            key=dg.AssetKey(["gold", props["name"]]),
            group_name="gold",
            owners=["team:data-platform"],
            tags={**spec.tags, "layer": "gold"},
        ).merge_attributes(kinds={"duckdb"})


def manifest_path(project: DbtProject) -> Path:
    path = project.manifest_path
    if not path.exists():
        raise FileNotFoundError(
            f"dbt manifest {path} is missing: run `make dbt-parse` (make run and make test do)."
        )
    return path


def build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, dbt_vars: dict[str, Any]
) -> Iterator[Any]:
    """`dbt build` of the selected models and their tests; tests become asset checks."""
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()


def gold_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    project = dbt_project()
    manifest = manifest_path(project)
    translator = GoldTranslator()

    @dbt_assets(
        manifest=manifest,
        project=project,
        select=DAILY_SELECTION,
        name="gold_daily_marts",
        dagster_dbt_translator=translator,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
    )
    def gold_daily_marts(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ) -> Iterator[Any]:
        yield from build(context, dbt, warehouse.dbt_vars(context.partition_time_window))

    @dbt_assets(
        manifest=manifest,
        project=project,
        exclude=DAILY_SELECTION,
        name="gold_marts",
        dagster_dbt_translator=translator,
        pool=WAREHOUSE_POOL,
    )
    def gold_marts(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ) -> Iterator[Any]:
        yield from build(context, dbt, warehouse.dbt_vars())

    return [gold_daily_marts, gold_marts]
