"""Silver: typed, deduplicated entities, corrections and deletes applied; rejects quarantined."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from data_platform.assets.metadata import (
    add_counts_per_partition,
    covers_one_slice,
    records_table,
    table_metadata,
)
from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin
from data_platform.transforms.silver import OUTCOMES, refine

METADATA_ROWS = 20


def silver_assets(entity: Entity, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    partitioned = entity.partitioned
    silver_key, quarantine_key = ["silver", entity.name], ["quarantine", entity.name]

    def out(key: list[str], description: str, schema: dict[str, pl.DataType]) -> dg.AssetOut:
        return dg.AssetOut(
            key=key,
            description=description,
            group_name="silver",
            kinds={"delta", "polars"},
            tags={"layer": key[0]},
            owners=["team:data-platform"],
            io_manager_key="lake_io_manager",
            metadata=table_metadata(entity, schema),
        )

    @dg.multi_asset(
        name=f"silver_{entity.name}",
        ins={"bronze": dg.AssetIn(key=["bronze", entity.name])},
        outs={
            "silver": out(
                silver_key,
                f"{entity.description} Typed, one row per key, latest version, deletes applied.",
                lin.silver_schema(entity),
            ),
            "quarantine": out(
                quarantine_key,
                f"Landed {entity.name} rows that broke the contract, with the reason and source.",
                lin.quarantine_schema(entity),
            ),
        },
        partitions_def=partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
    )
    def _silver(
        context: dg.AssetExecutionContext, bronze: pl.DataFrame
    ) -> Iterator[dg.Output[pl.DataFrame]]:
        result = refine(entity, bronze)
        outcomes = result.outcomes.rename(lambda c: c if c == lin.BUSINESS_DATE else f"rows_{c}")
        add_counts_per_partition(context, silver_key, outcomes, row_count="rows_current")
        quarantined = outcomes.select(lin.BUSINESS_DATE, "rows_quarantined")
        add_counts_per_partition(context, quarantine_key, quarantined, row_count="rows_quarantined")
        detail: dict[str, dg.MetadataValue] = {}
        if covers_one_slice(context):
            by_reason = result.quarantine.group_by(lin.REASON).len("rows").sort("rows")
            examples = result.quarantine.select(
                lin.REASON, lin.DETAIL, lin.SOURCE_FILE, lin.SOURCE_LINE
            ).head(METADATA_ROWS)
            detail = {
                "rows_by_reason": records_table(by_reason),
                "examples": records_table(examples),
            }
        totals = {name: result.total(name) for name in OUTCOMES}
        context.log.info(f"where the landed rows went: {totals}")
        yield dg.Output(result.silver, output_name="silver", metadata={"balanced": result.balanced})
        yield dg.Output(result.quarantine, output_name="quarantine", metadata=detail)

    return _silver
