"""Retention per layer, declared once (`RetentionPolicy`) and applied nightly by `retention_job`.

- **Landing**: a landed file moves to the zone's archive, `_archive/<entity>/<date>/<file>`, once
  its date folder is more than `landing_days` before its entity's newest date folder and it
  landed more than `landing_days` ago. Bronze reads the archive beside the live folders, so any
  date can still be rebuilt; the landing sensor and the misfit listing pass it by.
- **Quarantine**: a row is deleted once its business date is more than `quarantine_days` before
  its entity's newest landed date and it was ingested more than `quarantine_days` ago. Bronze
  keeps the rejected record, so a rebuild of its day quarantines it again.
- **Delta history**: every lake table is vacuumed: files unreferenced for more than `delta_hours`
  are deleted, so time travel and `lake_restore_job` reach that far back, no further.

"Older" is measured on the data's own calendar, the newest date landed for the entity, not on
today's: unshifted TPC-H (1992 to 1998) is not archived whole on the first night, and a source
that pauses keeps its last days in place. The second clock, when a file landed or a row was read,
keeps a late correction to an old date where it is for the same window, long after the sensor has
seen it and bronze has read it.
"""

import datetime as dt
from collections.abc import Mapping, Sequence

import dagster as dg
import polars as pl
from pydantic import Field

from data_platform import settings
from data_platform.catalog.keys import lake_key, lake_table_keys
from data_platform.catalog.metadata import records_table
from data_platform.contracts import ENTITIES
from data_platform.contracts import lineage as lin
from data_platform.landing.layout import LandedFile
from data_platform.resources.lake import Lake
from data_platform.resources.landing_zone import LandingZone

# each field of the policy and the setting it is declared by
SETTINGS = {
    "landing_days": settings.RETENTION_LANDING_DAYS,
    "quarantine_days": settings.RETENTION_QUARANTINE_DAYS,
    "delta_hours": settings.RETENTION_DELTA_HOURS,
}
# rows of each table the run's metadata shows; the counts cover everything
SHOWN = 200


def _default(field: str) -> int:
    return int(settings.LOCAL_DEFAULTS[SETTINGS[field]])


class RetentionPolicy(dg.Config):
    """How long each layer keeps what it no longer needs."""

    landing_days: int = Field(
        default=_default("landing_days"),
        ge=0,
        description="Landed files move to the archive (`_archive/` in the landing zone) once "
        "their date folder and their landing are more than this many days old.",
    )
    quarantine_days: int = Field(
        default=_default("quarantine_days"),
        ge=0,
        description="Quarantine rows are deleted once their business date and their ingestion "
        "are more than this many days old.",
    )
    delta_hours: int = Field(
        default=_default("delta_hours"),
        ge=0,
        description="Delta files no longer referenced are deleted after this many hours: how "
        "far back time travel and lake_restore_job reach.",
    )

    def landing_to_archive(self, files: Sequence[LandedFile], now: dt.datetime) -> list[LandedFile]:
        """The live files past the landing window."""
        window = dt.timedelta(days=self.landing_days)
        newest = newest_dates(files)
        return [
            landed
            for landed in files
            if not landed.archived
            and landed.business_date < newest[landed.entity] - window
            and landed.landed_at < now - window
        ]


def declared_policy() -> dict[str, object]:
    """The policy as the job's config: a setting that is set is read by Dagster when a run is
    launched (the Launchpad shows which variable), an unset one is its default."""
    declared: dict[str, object] = {}
    for field, name in SETTINGS.items():
        source = settings.config_source(name)
        declared[field] = source if isinstance(source, dict) else int(source)
    return declared


def newest_dates(files: Sequence[LandedFile]) -> dict[str, dt.date]:
    """The newest date folder of each entity: the clock its retention is measured by."""
    newest: dict[str, dt.date] = {}
    for landed in files:
        newest[landed.entity] = max(landed.business_date, newest.get(landed.entity, dt.date.min))
    return newest


def age_out_quarantine(
    lake: Lake, newest: Mapping[str, dt.date], days: int, now: dt.datetime
) -> pl.DataFrame:
    """Delete quarantine rows past the window; per table, the rows deleted."""
    window = dt.timedelta(days=days)
    removed = []
    for entity in ENTITIES:
        if entity.name not in newest:
            continue
        before = newest[entity.name] - window
        predicate = (
            f"{lin.BUSINESS_DATE} < '{before.isoformat()}'"
            f" AND {lin.INGESTED_AT} < '{(now - window).isoformat()}'"
        )
        for key, table in lake.tables([lake_key("quarantine", entity)]):
            deleted = table.delete(predicate)
            removed.append((key.to_user_string(), before, int(deleted["num_deleted_rows"])))
    return pl.DataFrame(
        removed,
        schema={"table": pl.String, "dated_before": pl.Date, "rows_removed": pl.Int64},
        orient="row",
    )


def vacuum_lake(lake: Lake, hours: int) -> pl.DataFrame:
    """Delete every lake table's files unreferenced for more than `hours`; each file deleted."""
    keys = lake_table_keys()
    removed = []
    for key, table in lake.tables(keys):
        # the window is the platform's declaration, which may be shorter than Delta's own week
        files = table.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False)
        removed += [(key.to_user_string(), name) for name in sorted(files)]
    return pl.DataFrame(removed, schema={"table": pl.String, "file": pl.String}, orient="row")


@dg.op(
    description="Archive old landed files, delete old quarantine rows, vacuum the lake's Delta "
    "history; reports what each removed."
)
def apply_retention(
    context: dg.OpExecutionContext,
    config: RetentionPolicy,
    landing_zone: LandingZone,
    lake: Lake,
) -> dg.Output[dict[str, int]]:
    now = dt.datetime.now(dt.UTC)
    scan = landing_zone.scan([entity.name for entity in ENTITIES], archived=True)
    archived = landing_zone.archive(config.landing_to_archive(scan.files, now))
    context.log.info(f"moved {len(archived)} landed files to the archive")
    quarantine = age_out_quarantine(lake, newest_dates(scan.files), config.quarantine_days, now)
    context.log.info(f"deleted {quarantine['rows_removed'].sum()} quarantine rows")
    vacuumed = vacuum_lake(lake, config.delta_hours)
    context.log.info(f"vacuumed {vacuumed.height} unreferenced Delta files")
    moves = pl.DataFrame(
        [(landed.path, landed.stored_at) for landed in archived],
        schema={"file": pl.String, "archived_to": pl.String},
        orient="row",
    )
    removed = {
        "landing_files_archived": moves.height,
        "quarantine_rows_removed": int(quarantine["rows_removed"].sum()),
        "delta_files_vacuumed": vacuumed.height,
    }
    metadata: dict[str, dg.MetadataValue] = {
        **{name: dg.MetadataValue.int(count) for name, count in removed.items()},
        "archived_files": records_table(moves.head(SHOWN)),
        "quarantine_tables": records_table(quarantine),
        "vacuumed_files": records_table(vacuumed.head(SHOWN)),
    }
    return dg.Output(removed, metadata=metadata)


def build_retention_job() -> dg.JobDefinition:
    """`retention_job` with the declared policy as its config (the Launchpad shows it)."""

    @dg.job(
        name="retention_job",
        description="Apply the retention policy: archive old landed files, delete old "
        "quarantine rows, vacuum the lake's history.",
        config={"ops": {"apply_retention": {"config": declared_policy()}}},
    )
    def retention_job() -> None:
        apply_retention()

    return retention_job


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job_name="retention_job",
    cron_schedule="0 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly, an hour after compaction (03:00 UTC).",
)
