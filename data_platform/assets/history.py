"""Silver dimension history (SCD type 2): every version of a key with its validity interval."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from data_platform.automation.retries import only_transient_retried, step_retry_policy
from data_platform.catalog.keys import history_key, lake_key
from data_platform.catalog.metadata import column_schema
from data_platform.checks import history as history_checks
from data_platform.checks.silver import unpublished
from data_platform.contracts import Entity
from data_platform.contracts import history as hist
from data_platform.resources.lake import Lake
from data_platform.transforms.history import refine_history


def _column_schema(entity: Entity) -> dg.TableSchema:
    """The contract's column docs, and what the validity columns mean."""
    columns = column_schema(entity, hist.history_schema(entity)).columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                description=hist.DESCRIPTIONS.get(column.name, column.description),
                tags=column.tags,
            )
            for column in columns
        ]
    )


def history_asset(entity: Entity) -> dg.AssetsDefinition:
    key = history_key(entity)

    @dg.asset(
        key=key,
        description=hist.history_description(entity),
        ins={"bronze": dg.AssetIn(key=lake_key("bronze", entity))},
        group_name="silver",
        kinds={"delta", "polars"},
        tags={"layer": "silver"},
        io_manager_key="lake_io_manager",
        # not written when a blocking check fails (what runs downstream in the run is skipped)
        output_required=False,
        metadata={
            "dagster/column_schema": _column_schema(entity),
            "silver_table": dg.MetadataValue.asset(lake_key("silver", entity)),
        },
        check_specs=history_checks.specs(entity, key),
        retry_policy=step_retry_policy(),
    )
    @only_transient_retried
    def _history(
        context: dg.AssetExecutionContext, bronze: pl.LazyFrame, lake: Lake
    ) -> Iterator[dg.Output[pl.DataFrame] | dg.AssetCheckResult]:
        # a dimension is small: its whole history is rebuilt from every landed version
        result = refine_history(entity, bronze.collect())
        versions = result.history
        checks = [
            history_checks.intervals_do_not_overlap(entity, key, versions),
            history_checks.one_current_version_per_live_key(
                entity, key, versions, result.live_keys
            ),
        ]
        if all(check.passed for check in checks):
            current = int(versions[hist.IS_CURRENT].sum())
            yield dg.Output(
                versions,
                metadata={
                    "dagster/row_count": dg.MetadataValue.int(versions.height),
                    "current_versions": dg.MetadataValue.int(current),
                    "keys": dg.MetadataValue.int(versions.select(entity.primary_key).n_unique()),
                },
            )
        else:
            version = lake.version(key)
            context.log.error(
                f"not published: a blocking check failed; readers stay on version {version}"
                f" of {key.to_user_string()}"
            )
            checks = [unpublished(check, version) for check in checks]
        yield from checks

    return _history
