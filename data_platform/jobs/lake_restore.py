"""Roll a lake table back: an operator's recovery after a bad load, launched from the UI.

The job takes the table (its asset key, e.g. `silver/orders`) and either a Delta version or a
moment, and restores the table to it with Delta's own RESTORE: a new commit whose files are the
old version's, so readers move back at once and the history keeps the bad version for audit. It
needs the old version's files: vacuum (the retention job) keeps unreferenced files for
`PLATFORM_RETENTION_DELTA_HOURS` (a week by default), so a table can be restored that far back.

The landed files stay as they are: a bad file must be removed from (or corrected in) the landing
zone, or the next rebuild of its day brings the bad rows back. Gold is then rebuilt from the
restored silver by materializing the affected marts (for daily marts, the affected days).
"""

import datetime as dt

import dagster as dg
from pydantic import Field, model_validator

from data_platform.catalog.keys import lake_table_keys
from data_platform.resources.lake import Lake

LAKE_TABLES = sorted(key.to_user_string() for key in lake_table_keys())


class RestoreConfig(dg.Config):
    table: str = Field(
        description=f"The lake table, by asset key: one of {', '.join(LAKE_TABLES)}."
    )
    version: int | None = Field(
        default=None, ge=0, description="The Delta version to restore (see the table's history)."
    )
    as_of: str | None = Field(
        default=None,
        description="Or a moment (ISO 8601, UTC unless it says otherwise): the version then.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> "RestoreConfig":
        if self.table not in LAKE_TABLES:
            raise ValueError(f"{self.table!r} is not a lake table: one of {LAKE_TABLES}")
        if (self.version is None) == (self.as_of is None):
            raise ValueError("give exactly one of version and as_of")
        return self

    def target(self) -> int | dt.datetime:
        if self.version is not None:
            return self.version
        assert self.as_of is not None
        moment = dt.datetime.fromisoformat(self.as_of)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dg.op(description="Restore one lake table to an earlier Delta version or moment.")
def restore_lake_table(
    context: dg.OpExecutionContext, config: RestoreConfig, lake: Lake
) -> dg.Output[int]:
    key = dg.AssetKey.from_user_string(config.table)
    found = list(lake.tables([key]))
    if not found:
        raise dg.Failure(f"{config.table} has no Delta table yet: nothing to restore")
    [(_, table)] = found
    before = table.version()
    metrics = table.restore(config.target())
    after = table.version()
    restored = table.history(limit=1)[0].get("operationParameters", {})
    context.log.info(f"restored {config.table}: version {before} -> {after} ({restored})")
    return dg.Output(
        after,
        metadata={
            "table": config.table,
            "version_before": dg.MetadataValue.int(before),
            "version_after": dg.MetadataValue.int(after),
            "restored_to": str(config.version if config.version is not None else config.as_of),
            "files_removed": dg.MetadataValue.int(int(metrics.get("num_removed_file", 0))),
            "files_restored": dg.MetadataValue.int(int(metrics.get("num_restored_file", 0))),
        },
    )


@dg.job(
    description="Roll a lake table back to an earlier version or moment (Launchpad: the table "
    "and a version or as_of); then rebuild gold from it."
)
def lake_restore_job() -> None:
    restore_lake_table()
