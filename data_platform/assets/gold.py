"""Gold: business marts built by the dbt project in `dbt_project/` on the DuckDB warehouse."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import sqlglot
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtProject, dbt_assets

from data_platform import settings
from data_platform.assets.gold_metadata import column_lineage, mart_metadata
from data_platform.assets.gold_publish import publish, rejected_marts, unpublished
from data_platform.automation.retries import only_transient_retried, step_retry_policy
from data_platform.catalog.keys import gold_key
from data_platform.catalog.partitions import partition_dates
from data_platform.resources.dbt import GoldDbt
from data_platform.resources.warehouse import (
    WAREHOUSE_POOL,
    Warehouse,
    WarehouseBusyError,
)

# Models tagged `daily` are daily-partitioned by their `order_date`, rebuilt a window at a time.
DAILY_SELECTION = "tag:daily"
# the order steps start in when several are ready (higher first), for Dagster's executors
PRIORITY_TAG = "dagster/priority"
DAILY_DATE_COLUMN = "order_date"


def dbt_project() -> DbtProject:
    return DbtProject(
        project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR, target="local"
    )


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
            key=gold_key(props["name"]),
            group_name="gold",
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
    context: dg.AssetExecutionContext,
    dbt: GoldDbt,
    warehouse: Warehouse,
    date_column: str | None = None,
) -> Iterator[Any]:
    """`dbt build` of the selected models and their tests in the working copy; tests become asset
    checks; the marts that passed are published (`gold_publish`). Each mart published gets its
    row counts, a preview and its column lineage (see `gold_metadata`); one that failed a test is
    not materialized, and readers stay on its last good version."""
    window = partition_dates(context) if date_column else None
    try:
        with warehouse.writing(context.log):
            invocation = dbt.build(
                context, warehouse.dbt_environment(window), warehouse.dbt_target_dir()
            )
            events = list(invocation.stream())
            built = {
                context.asset_key_for_output(event.output_name)
                for event in events
                if isinstance(event, dg.Output)
            }
            rejected = rejected_marts(events)
            if built or rejected:
                # write, audit, publish: only marts whose tests passed reach the readers' schema
                with warehouse.connect(read_only=False) as connection:
                    publish(connection, built - rejected, rejected, window, date_column)
                    events = [
                        _judged(context, invocation, connection, event, rejected, date_column)
                        for event in events
                        if not (
                            isinstance(event, dg.Output)
                            and context.asset_key_for_output(event.output_name) in rejected
                        )
                    ]
    except WarehouseBusyError as busy:
        # another writer's long build is not this step's failure: Dagster runs it again later
        raise warehouse.retry_later() from busy
    yield from events
    error = invocation.get_error()
    if error is not None:
        raise error


def _judged(
    context: dg.AssetExecutionContext,
    invocation: DbtCliInvocation,
    connection: duckdb.DuckDBPyConnection,
    event: Any,
    rejected: set[dg.AssetKey],
    date_column: str | None,
) -> Any:
    """A published mart's output, described; a rejected mart's failed test, with what readers
    see and the failing rows; anything else as dbt reported it."""
    if isinstance(event, dg.Output):
        return described(context, invocation, connection, event, date_column)
    if isinstance(event, dg.AssetCheckResult) and event.asset_key in rejected and not event.passed:
        return unpublished(connection, event, invocation.manifest)
    return event


def described(
    context: dg.AssetExecutionContext,
    invocation: DbtCliInvocation,
    connection: duckdb.DuckDBPyConnection,
    output: dg.Output[Any],
    date_column: str | None,
) -> dg.Output[Any]:
    key = context.asset_key_for_output(output.output_name)
    metadata = dict(output.metadata)
    metadata.update(mart_metadata(context, connection, key, date_column))
    node = invocation.manifest["nodes"][metadata["unique_id"].value]
    compiled = (
        invocation.target_path / "compiled" / node["package_name"] / node["original_file_path"]
    )
    try:
        lineage = column_lineage(compiled.read_text())
        metadata["dagster/column_lineage"] = dg.MetadataValue.column_lineage(lineage)
    except (OSError, ValueError, sqlglot.errors.SqlglotError) as error:
        context.log.warning(f"no column lineage for {key.to_user_string()}: {error}")
    return output.with_metadata(metadata)


def gold_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Two dbt assets: the daily marts, partitioned and rebuilt a window at a time, and the rest,
    rebuilt whole."""
    project = dbt_project()
    manifest = manifest_path(project)
    translator = GoldTranslator()

    def marts(name: str, daily: bool) -> dg.AssetsDefinition:
        @dbt_assets(
            manifest=manifest,
            project=project,
            name=name,
            dagster_dbt_translator=translator,
            pool=WAREHOUSE_POOL,
            select=DAILY_SELECTION if daily else "fqn:*",
            exclude="" if daily else DAILY_SELECTION,
            partitions_def=partitions if daily else None,
            backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
            retry_policy=step_retry_policy(),
            # a run that builds both (the landing sensor's, for a new day) builds the day first:
            # the day's gold is what a new day waits for, the reports read every day anyway
            op_tags={PRIORITY_TAG: "1" if daily else "0"},
        )
        @only_transient_retried
        def _marts(
            context: dg.AssetExecutionContext, dbt: GoldDbt, warehouse: Warehouse
        ) -> Iterator[Any]:
            yield from build(context, dbt, warehouse, DAILY_DATE_COLUMN if daily else None)

        return _marts

    return [marts("gold_daily_marts", daily=True), marts("gold_marts", daily=False)]
