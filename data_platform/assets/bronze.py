"""Bronze: every landed row as text, with the file and line it came from."""

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

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
from data_platform.checks import bronze as bronze_checks
from data_platform.contracts import ENTITIES, Entity
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import Decoded, decode, read_landed_files
from data_platform.landing.layout import LandedFile, misfits_frame
from data_platform.resources.landing_zone import LandingZone

METADATA_ROWS = 50


class BronzeConfig(dg.Config):
    """Run config of a bronze step (the Launchpad shows it; the defaults suit SF 1 on 2 cores)."""

    slice_bytes: int = Field(
        default=64 * 2**20,
        gt=0,
        description="Landed bytes read and parsed at once: bounds a range run's memory.",
    )


def bronze_asset(entity: Entity, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    partitioned = entity.partitioned
    key = lake_key("bronze", entity)

    @dg.asset(
        key=key,
        description=f"Every landed {entity.name} row as text, with the file and line it came from.",
        group_name="bronze",
        kinds={"delta", "polars"},
        tags={"layer": "bronze"},
        io_manager_key="lake_io_manager",
        partitions_def=partitions if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        metadata=table_metadata(entity, lin.bronze_schema(entity)),
        check_specs=bronze_checks.specs(key),
        retry_policy=step_retry_policy(),
    )
    @only_transient_retried
    def _bronze(
        context: dg.AssetExecutionContext, config: BronzeConfig, landing_zone: LandingZone
    ) -> Iterator[dg.Output[pl.LazyFrame] | dg.AssetCheckResult]:
        # with the archive: retention moves old files there, and a rebuilt date needs them all
        scan = landing_zone.scan([e.name for e in ENTITIES], under=entity.name, archived=True)
        for misfit in scan.misfits:
            context.log.warning(f"passed over {misfit.path}: {misfit.reason}")
        ingested_at = pl.lit(dt.datetime.now(dt.UTC), lin.UTC_TIMESTAMP).alias(lin.INGESTED_AT)
        counts = []
        with scratch() as directory:
            spill = Spill(directory, "bronze", lin.bronze_schema(entity))
            landed: dict[dt.date, int] = {}
            for found in scan.files:
                landed[found.business_date] = landed.get(found.business_date, 0) + found.size
            for low, high in windows(context, landed, config.slice_bytes):
                files = [f for f in scan.files if low <= f.business_date < high]
                frame = read_files(entity, landing_zone, files).with_columns(ingested_at)
                counts.append(bronze_checks.per_file_counts(frame, files))
                spill.add(frame)
            per_file = pl.concat(counts).sort(
                ["layout_errors", lin.SOURCE_FILE], descending=[True, False]
            )
            per_day = per_file.group_by(lin.BUSINESS_DATE).agg(
                files=pl.len().cast(pl.Int64),
                rows=pl.col("rows").sum(),
                layout_errors=pl.col("layout_errors").sum(),
            )
            add_counts_per_partition(context, key, per_day, row_count="rows")
            metadata: dict[str, dg.MetadataValue] = {
                "files_passed_over": dg.MetadataValue.int(len(scan.misfits))
            }
            if covers_one_partition(context):
                metadata["rows_per_file"] = records_table(per_file.head(METADATA_ROWS))
                metadata["passed_over"] = records_table(misfits_frame(scan.misfits[:METADATA_ROWS]))
            context.log.info(f"read {per_file['rows'].sum()} rows from {per_file.height} files")
            yield dg.Output(spill.scan(), metadata=metadata)
        yield bronze_checks.known_layout(key, per_file, len(scan.misfits))
        yield bronze_checks.known_columns(key, per_file)
        yield bronze_checks.rows_per_file(key, per_file)

    return _bronze


def read_files(entity: Entity, landing_zone: LandingZone, files: list[LandedFile]) -> pl.DataFrame:
    def fetch(landed: LandedFile) -> Decoded:
        return decode(landed, landing_zone.read_bytes(landed))

    with ThreadPoolExecutor(max_workers=landing_zone.read_threads) as pool:
        decoded = list(pool.map(fetch, files))
    return read_landed_files(entity, decoded)
