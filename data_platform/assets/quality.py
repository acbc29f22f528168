"""Quality history: what landed, what reached silver, what was quarantined and why, and what each
check said, per entity and business date, kept in DuckDB tables for charting over time.

Written through dagster-duckdb's IO manager (`quality_io_manager`), daily-partitioned by business
date: a run replaces its own dates' rows and leaves every other date's, so the tables hold every
date ever measured, also after retention has deleted the quarantine rows they counted.
"""

import datetime as dt
from collections.abc import Iterable, Iterator

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key, lake_keys
from data_platform.catalog.partitions import (
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    DateWindow,
    partition_dates,
)
from data_platform.checks import bronze as bronze_checks
from data_platform.checks import silver as silver_checks
from data_platform.checks.silver_relations import dimension_relation_specs, relation_checks
from data_platform.contracts import ENTITIES, Entity
from data_platform.contracts import lineage as lin
from data_platform.resources.lake import Lake

GROUP = "quality"
DATE = "business_date"
FILE_GRAIN = ["entity", DATE, "source_file"]
# evaluations of one check looked back through to find the one that covered each date
CHECK_HISTORY = 100


def quality_key(table: str) -> dg.AssetKey:
    """A table of the quality mart: schema `quality` of the quality IO manager's database."""
    return dg.AssetKey([GROUP, table])


DAILY_QUALITY = quality_key("daily_quality")
QUARANTINE_REASONS = quality_key("quarantine_reasons")
CHECK_OUTCOMES = quality_key("check_outcomes")

COLUMNS: dict[dg.AssetKey, dict[str, str]] = {
    DAILY_QUALITY: {
        "entity": "The entity (TPC-H table) the rows belong to.",
        DATE: "The landing date folder the rows came in (order date or extract date).",
        "source_file": "The landed file, relative to the landing zone.",
        "rows_landed": "Records of the file in bronze.",
        "rows_current": "Rows of silver whose current version came from the file.",
        "rows_quarantined": "Rows of the file set aside in quarantine.",
        "rows_replaced": "Landed rows neither current nor quarantined: older versions, delete "
        "markers and redelivered copies.",
        "measured_at": "When these figures were measured.",
    },
    QUARANTINE_REASONS: {
        "entity": "The entity the rows belong to.",
        DATE: "The landing date folder the rows came in.",
        "source_file": "The landed file, relative to the landing zone.",
        "reason": "The rule the rows broke (quarantine's `_reason`).",
        "rows": "Rows of the file quarantined for the reason.",
        "measured_at": "When these figures were measured.",
    },
    CHECK_OUTCOMES: {
        "entity": "The entity whose table was checked.",
        DATE: "A business date the evaluation's run covered and the entity has rows for.",
        "asset": "The checked table's asset key, e.g. silver/orders.",
        "check_name": "The asset check.",
        "passed": "Whether the check passed.",
        "severity": "ERROR or WARN: how a failure counts.",
        "evaluated_at": "When the check was evaluated.",
        "run_id": "The Dagster run that evaluated it.",
        "measured_at": "When these figures were measured.",
    },
}

DESCRIPTIONS = {
    DAILY_QUALITY: "Per entity, business date and landed file: rows landed, current in silver, "
    "quarantined and replaced.",
    QUARANTINE_REASONS: "Per entity, business date and landed file: quarantined rows by reason.",
    CHECK_OUTCOMES: "Per entity and business date: each check's outcome, from the latest "
    "evaluation whose run covered the date.",
}


# the DuckDB types the columns are written as (from the polars frames below)
TYPES = {
    DATE: "DATE",
    "passed": "BOOLEAN",
    "evaluated_at": "TIMESTAMP WITH TIME ZONE",
    "measured_at": "TIMESTAMP WITH TIME ZONE",
}


def _type(column: str) -> str:
    return "BIGINT" if column.startswith("rows") else TYPES.get(column, "VARCHAR")


def _out(key: dg.AssetKey) -> dg.AssetOut:
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name, _type(name), description=text)
            for name, text in COLUMNS[key].items()
        ]
    )
    return dg.AssetOut(
        key=key,
        description=DESCRIPTIONS[key],
        group_name=GROUP,
        kinds={"duckdb", "polars"},
        tags={"layer": GROUP},
        io_manager_key="quality_io_manager",
        # the DuckDB IO manager replaces exactly the run's dates of this column
        metadata={"partition_expr": DATE, "dagster/column_schema": schema},
    )


def lake_check_keys(partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckKey]:
    """The checks on the entities' lake tables, built from the same declarations as they are."""
    keys = [
        spec.key
        for entity in ENTITIES
        for spec in [
            *bronze_checks.specs(lake_key("bronze", entity)),
            *silver_checks.specs(entity, lake_key("silver", entity)),
            *dimension_relation_specs(entity, lake_key("silver", entity)),
        ]
    ]
    return keys + [key for checks in relation_checks(partitions) for key in checks.check_keys]


def quality_assets(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    checked = lake_check_keys(partitions)

    @dg.multi_asset(
        name="quality_history",
        outs={
            "daily_quality": _out(DAILY_QUALITY),
            "quarantine_reasons": _out(QUARANTINE_REASONS),
            "check_outcomes": _out(CHECK_OUTCOMES),
        },
        deps=[key for entity in ENTITIES for key in lake_keys(entity)],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _quality(
        context: dg.AssetExecutionContext, lake: Lake
    ) -> Iterator[dg.Output[pl.DataFrame]]:
        window = partition_dates(context)
        assert window is not None, "the quality assets are daily-partitioned"
        measured_at = dt.datetime.now(dt.UTC)
        files = pl.concat([file_figures(lake, entity, window) for entity in ENTITIES])
        reasons = pl.concat([reason_figures(lake, entity, window) for entity in ENTITIES])
        checks = check_figures(context, checked, files.select("entity", DATE).unique())
        stamp = pl.lit(measured_at).cast(lin.UTC_TIMESTAMP).alias("measured_at")
        yield dg.Output(
            files.with_columns(stamp), output_name="daily_quality", metadata=_latest(files)
        )
        yield dg.Output(reasons.with_columns(stamp), output_name="quarantine_reasons")
        newest = checks.filter(pl.col(DATE) == pl.col(DATE).max())
        yield dg.Output(
            checks.with_columns(stamp),
            output_name="check_outcomes",
            # on the run's newest business date, which the UI plots over materializations
            metadata={
                "checks_failing": dg.MetadataValue.int(newest.filter(~pl.col("passed")).height)
            },
        )

    return _quality


def _rows_per_file(
    lake: Lake, key: dg.AssetKey, window: DateWindow, *by: str
) -> pl.DataFrame | None:
    if not lake.exists(key):
        return None
    return (
        lake.scan(key)
        .filter(lin.in_business_dates(*window))
        .group_by(lin.BUSINESS_DATE, lin.SOURCE_FILE, *by)
        .agg(pl.len().cast(pl.Int64).alias("rows"))
        .collect()
    )


def file_figures(lake: Lake, entity: Entity, window: DateWindow) -> pl.DataFrame:
    """Rows landed, current, quarantined and replaced, per business date and landed file."""
    where = [lin.BUSINESS_DATE, lin.SOURCE_FILE]
    landed = _rows_per_file(lake, lake_key("bronze", entity), window)
    figures = pl.DataFrame(
        schema={
            lin.BUSINESS_DATE: pl.Date(),
            lin.SOURCE_FILE: pl.String(),
            "rows_landed": pl.Int64(),
        }
    )
    if landed is not None:
        figures = landed.rename({"rows": "rows_landed"})
    for layer, name in (("silver", "rows_current"), ("quarantine", "rows_quarantined")):
        counted = _rows_per_file(lake, lake_key(layer, entity), window)
        if counted is None:
            figures = figures.with_columns(pl.lit(0, pl.Int64).alias(name))
            continue
        figures = figures.join(counted.rename({"rows": name}), on=where, how="left")
    figures = figures.fill_null(0).with_columns(
        rows_replaced=pl.col("rows_landed") - pl.col("rows_current") - pl.col("rows_quarantined")
    )
    return _named(entity, figures).sort(FILE_GRAIN)


def reason_figures(lake: Lake, entity: Entity, window: DateWindow) -> pl.DataFrame:
    """Quarantined rows per business date, landed file and reason."""
    counted = _rows_per_file(lake, lake_key("quarantine", entity), window, lin.REASON)
    if counted is None:
        counted = pl.DataFrame(
            schema={
                lin.BUSINESS_DATE: pl.Date(),
                lin.SOURCE_FILE: pl.String(),
                lin.REASON: pl.String(),
                "rows": pl.Int64(),
            }
        )
    return _named(entity, counted.rename({lin.REASON: "reason"})).sort([*FILE_GRAIN, "reason"])


def _named(entity: Entity, frame: pl.DataFrame) -> pl.DataFrame:
    named = frame.rename({lin.BUSINESS_DATE: DATE, lin.SOURCE_FILE: "source_file"})
    return named.select(pl.lit(entity.name).alias("entity"), pl.all())


def _run_dates(run_tags: dict[str, str]) -> DateWindow | None:
    """The business dates [start, end) a run covered; None: the whole table (unpartitioned)."""
    if RANGE_START_TAG in run_tags:
        start, end = run_tags[RANGE_START_TAG], run_tags[RANGE_END_TAG]
    elif PARTITION_TAG in run_tags:
        start = end = run_tags[PARTITION_TAG]
    else:
        return None
    last = dt.date.fromisoformat(end)
    return dt.date.fromisoformat(start), last + dt.timedelta(days=1)


def check_figures(
    context: dg.AssetExecutionContext, checked: list[dg.AssetCheckKey], measured: pl.DataFrame
) -> pl.DataFrame:
    """Each check of each entity's lake tables, for every (entity, date) in `measured`: the outcome
    of the newest evaluation whose run covered the date."""
    entity_of = {key: entity.name for entity in ENTITIES for key in lake_keys(entity)}
    dates: dict[str, list[dt.date]] = {}
    for entity, day in measured.iter_rows():
        dates.setdefault(entity, []).append(day)
    check_keys = [key for key in checked if entity_of.get(key.asset_key) in dates]
    rows: list[tuple[object, ...]] = []
    for check_key in sorted(check_keys, key=lambda k: k.to_user_string()):
        entity = entity_of[check_key.asset_key]
        rows.extend(_outcomes(context.instance, check_key, entity, dates[entity]))
    return pl.DataFrame(
        rows,
        schema={
            "entity": pl.String(),
            DATE: pl.Date(),
            "asset": pl.String(),
            "check_name": pl.String(),
            "passed": pl.Boolean(),
            "severity": pl.String(),
            "evaluated_at": lin.UTC_TIMESTAMP,
            "run_id": pl.String(),
        },
        orient="row",
    ).sort("entity", DATE, "asset", "check_name")


def _outcomes(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, entity: str, days: Iterable[dt.date]
) -> Iterator[tuple[object, ...]]:
    # Dagster 1.13 has no public API for a check's history: the event log storage's is the one the
    # UI's check history reads
    history = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=CHECK_HISTORY
    )
    # an execution still under way carries its planned event, not an evaluation
    evaluated = [r for r in history if isinstance(r.evaluation, dg.AssetCheckEvaluation)]
    if not evaluated:
        return
    runs = {
        record.dagster_run.run_id: record.dagster_run.tags
        for record in instance.get_run_records(
            dg.RunsFilter(run_ids=list({r.run_id for r in evaluated}))
        )
    }
    pending = set(days)
    for record in evaluated:  # newest first
        covered = _run_dates(dict(runs.get(record.run_id, {})))
        hits = {d for d in pending if covered is None or covered[0] <= d < covered[1]}
        evaluation = record.evaluation
        assert evaluation is not None
        for day in sorted(hits):
            yield (
                entity,
                day,
                check_key.asset_key.to_user_string(),
                check_key.name,
                evaluation.passed,
                evaluation.severity.value,
                dt.datetime.fromtimestamp(record.create_timestamp, dt.UTC),
                record.run_id,
            )
        pending -= hits
        if not pending:
            return


def _latest(files: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """The run's newest business date's figures, which the UI plots over materializations."""
    if files.is_empty():
        return {}
    newest = files.filter(pl.col(DATE) == pl.col(DATE).max())
    landed, quarantined = int(newest["rows_landed"].sum()), int(newest["rows_quarantined"].sum())
    return {
        "latest_business_date": dg.MetadataValue.text(newest[DATE][0].isoformat()),
        "rows_landed": dg.MetadataValue.int(landed),
        "rows_current": dg.MetadataValue.int(int(newest["rows_current"].sum())),
        "rows_quarantined": dg.MetadataValue.int(quarantined),
        "quarantine_rate": dg.MetadataValue.float(quarantined / landed if landed else 0.0),
    }
