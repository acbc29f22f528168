"""Keep the Delta tables compact: daily runs add a file per day, compaction folds them per month.

Reads of a table open one file per month once compacted, instead of one per landed day. The files
compaction replaces stay for time travel until the retention job vacuums them after the declared
Delta window (`data_platform/jobs/retention.py`), the one place that removes lake history.
"""

import dagster as dg
from pydantic import Field

from data_platform.catalog.keys import lake_table_keys
from data_platform.resources.lake import Lake


class MaintenanceConfig(dg.Config):
    target_file_bytes: int = Field(
        default=256 * 2**20,
        gt=0,
        description="Size compacted files aim for (a month of SF 1 lineitem is well below it).",
    )


@dg.op(description="Compact every lake table's small files.")
def compact_lake_tables(
    context: dg.OpExecutionContext, config: MaintenanceConfig, lake: Lake
) -> dg.Output[int]:
    keys = lake_table_keys()
    records = []
    for key, table in lake.tables(keys):
        compacted = table.optimize.compact(target_size=config.target_file_bytes)
        records.append(
            dg.TableRecord(
                {
                    "table": key.to_user_string(),
                    "files_removed": int(compacted.get("numFilesRemoved", 0)),
                    "files_added": int(compacted.get("numFilesAdded", 0)),
                }
            )
        )
    context.log.info(f"compacted {len(records)} tables")
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("table", "string"),
            dg.TableColumn("files_removed", "int"),
            dg.TableColumn("files_added", "int"),
        ]
    )
    return dg.Output(len(records), metadata={"tables": dg.MetadataValue.table(records, schema)})


@dg.job(description="Compact the lake's Delta tables (the retention job vacuums them).")
def lake_maintenance_job() -> None:
    compact_lake_tables()


lake_maintenance_schedule = dg.ScheduleDefinition(
    job=lake_maintenance_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly, after the day's files have landed and been processed.",
)
