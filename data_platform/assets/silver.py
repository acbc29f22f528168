"""Silver: typed, deduplicated entities, corrections and deletes applied; rejects quarantined."""

from collections.abc import Iterator

import dagster as dg
import polars as pl
from pydantic import Field

from data_platform.assets.chunks import Spill, scratch, windows
from data_platform.automation.retries import only_transient_retried, step_retry_policy
from data_platform.catalog.keys import lake_key
from data_platform.catalog.metadata import (
    add_counts_per_partition,
    covers_one_partition,
    records_table,
    table_metadata,
)
from data_platform.catalog.partitions import DateWindow, partition_dates
from data_platform.checks import silver as silver_checks
from data_platform.checks.contract_schema import failures as contract_failures
from data_platform.checks.silver_relations import (
    dimension_parents,
    dimension_relation_results,
    dimension_relation_specs,
)
from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin
from data_platform.resources.lake import Lake
from data_platform.transforms.silver import balanced as result_balanced
from data_platform.transforms.silver import refine

METADATA_ROWS = 20


class SilverConfig(dg.Config):
    """Run config of a silver step (the Launchpad shows it; the default suits SF 1 on 2 cores)."""

    slice_rows: int = Field(
        default=500_000,
        gt=0,
        description="Bronze rows refined at once: bounds a range run's memory.",
    )


def _sums(totals: pl.DataFrame) -> dict[str, int]:
    return {name: int(totals[name].sum()) for name in totals.columns if name != lin.BUSINESS_DATE}


def silver_assets(entity: Entity, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    partitioned = entity.partitioned
    silver_key, quarantine_key = lake_key("silver", entity), lake_key("quarantine", entity)

    def out(
        key: dg.AssetKey, description: str, schema: dict[str, pl.DataType], sibling: dg.AssetKey
    ) -> dg.AssetOut:
        return dg.AssetOut(
            key=key,
            description=description,
            group_name="silver",
            kinds={"delta", "polars"},
            tags={"layer": key.path[0]},
            io_manager_key="lake_io_manager",
            # not written when a blocking check fails (what runs downstream in the run is skipped)
            is_required=False,
            # the UI links silver and its quarantine, the two tables this step writes
            metadata={
                **table_metadata(entity, schema),
                f"{sibling.path[0]}_table": dg.MetadataValue.asset(sibling),
            },
        )

    @dg.multi_asset(
        name=f"silver_{entity.name}",
        ins={"bronze": dg.AssetIn(key=lake_key("bronze", entity))},
        outs={
            "silver": out(
                silver_key,
                f"{entity.description}\n\nTyped, one row per key (its latest version), deletes "
                f"applied; rows breaking the contract are in `{quarantine_key.to_user_string()}`.",
                lin.silver_schema(entity),
                quarantine_key,
            ),
            "quarantine": out(
                quarantine_key,
                f"Landed {entity.name} rows kept out of `{silver_key.to_user_string()}` because "
                "they broke the contract, with the reason and source line.",
                lin.quarantine_schema(entity),
                silver_key,
            ),
        },
        check_specs=[
            *silver_checks.specs(entity, silver_key, partitions if partitioned else None),
            *dimension_relation_specs(entity, silver_key),
        ],
        # a dimension's relations are judged on its parents' tables, built first
        deps=dimension_parents(entity),
        partitions_def=partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        retry_policy=step_retry_policy(),
    )
    @only_transient_retried
    def _silver(
        context: dg.AssetExecutionContext, config: SilverConfig, bronze: pl.LazyFrame, lake: Lake
    ) -> Iterator[dg.Output[pl.LazyFrame] | dg.AssetCheckResult]:
        outcomes, per_file, reasons, examples, failed = [], [], [], [], []
        with scratch() as directory:
            silver = Spill(directory, "silver", lin.silver_schema(entity))
            quarantine = Spill(directory, "quarantine", lin.quarantine_schema(entity))
            per_day = bronze.group_by(lin.BUSINESS_DATE).len().collect()
            weights = dict(zip(per_day[lin.BUSINESS_DATE], per_day["len"], strict=True))
            for low, high in windows(context, weights, config.slice_rows):
                chunk = bronze.filter(lin.in_business_dates(low, high))
                result = refine(entity, chunk.collect())
                silver.add(result.silver)
                quarantine.add(result.quarantine)
                outcomes.append(result.outcomes)
                per_file.append(result.per_file)
                failed.append(contract_failures(entity, result.silver))
                reasons.append(result.quarantine.group_by(lin.REASON).len("rows"))
                examples.append(result.quarantine.head(METADATA_ROWS))
            totals = pl.concat(outcomes).rename(
                lambda c: c if c == lin.BUSINESS_DATE else f"rows_{c}"
            )
            add_counts_per_partition(context, silver_key, totals, row_count="rows_current")
            quarantined = totals.select(lin.BUSINESS_DATE, "rows_quarantined")
            add_counts_per_partition(context, quarantine_key, quarantined, "rows_quarantined")
            detail: dict[str, dg.MetadataValue] = {}
            if covers_one_partition(context):
                by_reason = pl.concat(reasons).group_by(lin.REASON).agg(pl.col("rows").sum())
                shown = pl.concat(examples).head(METADATA_ROWS)
                detail = {
                    "rows_by_reason": records_table(by_reason.sort("rows", descending=True)),
                    "examples": records_table(
                        shown.select(lin.REASON, lin.DETAIL, lin.SOURCE_FILE, lin.SOURCE_LINE)
                    ),
                }
            balanced = all(result_balanced(frame) for frame in outcomes)
            context.log.info(f"where the landed rows went: {_sums(totals)}")
            # write, audit, publish: the blocking checks judge the version about to be written
            # (the run's rows with the rest of the table) before it is committed
            span = partition_dates(context)
            blocking = [
                silver_checks.contract(silver_key, pl.concat(failed)),
                silver_checks.primary_key_unique(
                    entity, silver_key, _as_published(entity, lake, silver_key, silver, span), span
                ),
            ]
            relations = dimension_relation_results(entity, silver_key, lake, silver.scan())
            if all(check.passed for check in blocking):
                yield dg.Output(
                    silver.scan(), output_name="silver", metadata={"balanced": balanced}
                )
                yield dg.Output(quarantine.scan(), output_name="quarantine", metadata=detail)
            else:
                version = lake.version(silver_key)
                context.log.error(
                    f"not published: a blocking check failed; readers stay on version {version}"
                    f" of {silver_key.to_user_string()} and its quarantine"
                )
                blocking = [silver_checks.unpublished(check, version) for check in blocking]
        files = pl.concat(per_file)
        yield from blocking
        yield from relations
        yield silver_checks.reconciliation(silver_key, files)
        landed_rows, rejected_rows = int(files["landed"].sum()), int(files["quarantined"].sum())
        yield silver_checks.quarantine_rate(entity, silver_key, landed_rows, rejected_rows)

    return _silver


def _as_published(
    entity: Entity, lake: Lake, key: dg.AssetKey, written: Spill, span: DateWindow | None
) -> pl.LazyFrame:
    """The table as it would read once the run's rows replace its window (all of it, unpartitioned):
    the key columns and the business date, enough for the key check."""
    columns = [*entity.primary_key, lin.BUSINESS_DATE]
    new = written.scan().select(columns)
    if span is None or not lake.exists(key):
        return new
    rest = lake.scan(key).filter(~lin.in_business_dates(*span)).select(columns)
    return pl.concat([rest, new])
