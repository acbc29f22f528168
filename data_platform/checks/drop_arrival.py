"""Data-time freshness: did each day's drop arrive?

Freshness policies judge when an asset was last materialized; a correction to an old day, or a
dimension change, materializes silver and gold and makes a day that never arrived look fresh.
This check judges the data instead: the newest business date silver holds must be no older than
`PLATFORM_DROP_LAG_DAYS` (1: yesterday's drop) before today, in `PLATFORM_FRESHNESS_TIMEZONE`.

It runs with every materialization of silver orders and lineitem (a rebuilt old day included),
and `drop_arrival_schedule` evaluates it at the drop's deadline (`PLATFORM_DROP_DEADLINE_CRON`,
09:00 by default; empty turns the schedule off). A failure is an ERROR check, alerted to Slack
like any other.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key
from data_platform.contracts import ENTITIES
from data_platform.contracts import lineage as lin
from data_platform.resources.lake import Lake

CHECK = "daily_drop_arrived"


def expected_business_date(now: dt.datetime, lag_days: int) -> dt.date:
    """The newest business date whose drop should have arrived by `now`."""
    return now.date() - dt.timedelta(days=lag_days)


def drop_arrival_checks(lag_days: int, timezone: str) -> list[dg.AssetChecksDefinition]:
    zone = ZoneInfo(timezone)

    def check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=key,
            name=CHECK,
            description="The newest business date in silver is recent enough: the daily drop "
            "arrived (judged on the data, not on when the table last changed).",
        )
        def _drop_arrived(
            context: dg.AssetCheckExecutionContext, lake: Lake
        ) -> dg.AssetCheckResult:
            expected = expected_business_date(dt.datetime.now(zone), lag_days)
            newest = newest_business_date(lake, key)
            metadata: dict[str, dg.MetadataValue] = {
                "expected_business_date": dg.MetadataValue.text(expected.isoformat()),
                "newest_business_date": dg.MetadataValue.text(
                    newest.isoformat() if newest else "none"
                ),
            }
            if newest is not None:
                metadata["days_missing"] = dg.MetadataValue.int(max((expected - newest).days, 0))
            passed = newest is not None and newest >= expected
            if not passed:
                context.log.warning(
                    f"{key.to_user_string()}: newest business date {newest}, expected {expected}"
                )
            return dg.AssetCheckResult(
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=None
                if passed
                else f"no drop since {newest or 'ever'}: {expected} was due",
                metadata=metadata,
            )

        return _drop_arrived

    return [check(lake_key("silver", entity)) for entity in ENTITIES if entity.partitioned]


def newest_business_date(lake: Lake, key: dg.AssetKey) -> dt.date | None:
    if not lake.exists(key):
        return None
    newest = lake.scan(key).select(pl.col(lin.BUSINESS_DATE).max()).collect().item()
    return newest if isinstance(newest, dt.date) else None


def drop_arrival_schedule(
    checks: list[dg.AssetChecksDefinition], cron: str, timezone: str
) -> dg.ScheduleDefinition:
    job = dg.define_asset_job(
        "drop_arrival_job",
        selection=dg.AssetSelection.checks(*checks),
        description="Judge whether each daily drop arrived (the newest business date in silver).",
    )
    return dg.ScheduleDefinition(
        name="drop_arrival_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="At the daily drop's deadline, check that it arrived.",
    )
