"""Keep the Delta tables compact: daily runs add a file per day, compaction folds them per month.

Reads of a table open one file per month once compacted, instead of one per landed day; vacuum
then removes files no longer referenced and older than the retention (time travel keeps a week).
"""

import dagster as dg
from pydantic import Field

from data_platform.catalog.keys import lake_keys
from data_platform.contracts import ENTITIES
from data_platform.resources.lake import Lake


class MaintenanceConfig(dg.Config):
    target_file_bytes: int = Field(
        default=256 * 2**20,
        gt=0,
        description="Size compacted files aim for (a month of SF 1 lineitem is well below it).",
    )
    retention_hours: int = Field(
        default=7 * 24,
        ge=0,
        description="How long files no longer referenced are kept (time travel's reach).",
    )


@dg.op(description="Compact every lake table's small files and vacuum unreferenced ones.")
def compact_lake_tables(
    context: dg.OpExecutionContext, config: MaintenanceConfig, lake: Lake
) -> dg.Output[int]:
    keys = [key for entity in ENTITIES for key in lake_keys(entity)]
    records = []
    for key, table in lake.tables(keys):
        compacted = table.optimize.compact(target_size=config.target_file_bytes)
        vacuumed = table.vacuum(retention_hours=config.retention_hours, dry_run=False)
        records.append(
            dg.TableRecord(
                {
                    "table": key.to_user_string(),
                    "files_removed": int(compacted.get("numFilesRemoved", 0)),
                    "files_added": int(compacted.get("numFilesAdded", 0)),
                    "files_vacuumed": len(vacuumed),
                }
            )
        )
    context.log.info(f"compacted {len(records)} tables")
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("table", "string"),
            dg.TableColumn("files_removed", "int"),
            dg.TableColumn("files_added", "int"),
            dg.TableColumn("files_vacuumed", "int"),
        ]
    )
    return dg.Output(len(records), metadata={"tables": dg.MetadataValue.table(records, schema)})


@dg.job(description="Compact and vacuum the lake's Delta tables.")
def lake_maintenance_job() -> None:
    compact_lake_tables()


lake_maintenance_schedule = dg.ScheduleDefinition(
    job=lake_maintenance_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly, after the day's files have landed and been processed.",
)
