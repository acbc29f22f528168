"""The code location: assemble every layer from the entity contracts, then apply platform policy."""

from __future__ import annotations

import dagster as dg

from data_platform import profiles, settings
from data_platform.assets.bronze import bronze_asset
from data_platform.assets.gold import gold_assets
from data_platform.assets.history import history_asset
from data_platform.assets.landing import landing_zone_asset
from data_platform.assets.quality import quality_assets
from data_platform.assets.silver import silver_assets
from data_platform.automation import policy
from data_platform.automation.retries import run_tags
from data_platform.catalog.keys import history_key, lake_key
from data_platform.catalog.partitions import daily_partitions
from data_platform.checks.drop_arrival import drop_arrival_checks, drop_arrival_schedule
from data_platform.checks.gold import revenue_check
from data_platform.checks.silver_relations import relation_checks
from data_platform.contracts import ENTITIES
from data_platform.contracts.history import HISTORY_ENTITIES
from data_platform.jobs.erasure import erasure_job
from data_platform.jobs.lake_maintenance import lake_maintenance_job, lake_maintenance_schedule
from data_platform.jobs.lake_restore import lake_restore_job
from data_platform.jobs.retention import build_retention_job, retention_schedule
from data_platform.sensors.alert_sensor import build_alert_sensor
from data_platform.sensors.landing_sensor import Followers, build_landing_sensor


def build_definitions() -> dg.Definitions:
    profiles.declare_process_settings()
    partitions = daily_partitions(settings.read(settings.PARTITIONS_START))
    daily_gold, reports = gold_assets(partitions)
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = [
        landing_zone_asset(),
        *(bronze_asset(entity, partitions) for entity in ENTITIES),
        *(silver_assets(entity, partitions) for entity in ENTITIES),
        *(history_asset(entity) for entity in HISTORY_ENTITIES),
        daily_gold,
        reports,
        quality_assets(partitions),
    ]
    histories = {entity.name: [history_key(entity)] for entity in HISTORY_ENTITIES}
    followers = Followers(
        by_entity={
            entity.name: [
                lake_key("silver", entity),
                lake_key("quarantine", entity),
                *histories.get(entity.name, []),
            ]
            for entity in ENTITIES
        },
        daily_gold=sorted(daily_gold.keys, key=lambda key: key.to_user_string()),
        reports=sorted(reports.keys, key=lambda key: key.to_user_string()),
        gold_reads=[
            *(lake_key("silver", entity) for entity in ENTITIES if not entity.partitioned),
            *(history_key(entity) for entity in HISTORY_ENTITIES),
        ],
    )
    automation = dg.AutomationConditionSensorDefinition(
        "automation_sensor",
        target=dg.AssetSelection.all(),
        description="Requests silver and gold as their upstream partitions change.",
        minimum_interval_seconds=int(settings.read(settings.AUTOMATION_INTERVAL)),
        default_status=dg.DefaultSensorStatus.RUNNING,
        # many partitions on one tick become one backfill (single-run), not a run per partition
        emit_backfills=True,
        run_tags=run_tags(),
    )
    interval = int(settings.read(settings.SENSOR_INTERVAL))
    landing = build_landing_sensor(partitions, interval, followers)
    timezone = settings.read(settings.FRESHNESS_TIMEZONE)
    drop_arrival = drop_arrival_checks(int(settings.read(settings.DROP_LAG_DAYS)), timezone)
    deadline = settings.read(settings.DROP_DEADLINE_CRON)
    drop_deadline = [drop_arrival_schedule(drop_arrival, deadline, timezone)] if deadline else []
    return dg.Definitions(
        assets=assets,
        asset_checks=[*relation_checks(partitions), revenue_check(partitions), *drop_arrival],
        executor=profiles.executor(),
        jobs=[lake_maintenance_job, lake_restore_job, build_retention_job(), erasure_job],
        schedules=[lake_maintenance_schedule, retention_schedule, *drop_deadline],
        sensors=[
            landing,
            automation,
            build_alert_sensor(int(settings.read(settings.ALERT_INTERVAL))),
        ],
        resources=profiles.resources(),
    ).map_asset_specs(func=policy.apply)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
