"""Resources both profiles build the same way from the settings."""

from __future__ import annotations

import sys
from pathlib import Path

from data_platform import settings
from data_platform.resources.dbt import GoldDbt
from data_platform.resources.lake import Lake
from data_platform.resources.lake_io_manager import LakeIOManager
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.object_store import s3_settings, storage_config
from data_platform.resources.slack import SlackAlerts
from data_platform.resources.warehouse import Warehouse


def lake_io_manager() -> LakeIOManager:
    lake_dir = settings.value(settings.LAKE_DIR)
    return LakeIOManager(
        root_uri=settings.setting(settings.LAKE_DIR), storage_options=storage_config(lake_dir)
    )


def lake() -> Lake:
    """The same lake for maintenance and checks, with the storage options delta-rs takes."""
    options = s3_settings() if settings.is_s3(settings.LAKE_DIR) else {}
    return Lake(root_uri=settings.setting(settings.LAKE_DIR), storage_options=options)


def landing_zone() -> LandingZone:
    return LandingZone(
        url=settings.setting(settings.LANDING_DIR),
        storage_options=storage_config(settings.value(settings.LANDING_DIR)),
    )


def slack() -> SlackAlerts:
    return SlackAlerts(
        token=settings.setting(settings.SLACK_TOKEN),
        channel=settings.setting(settings.SLACK_CHANNEL),
        api_base_url=settings.setting(settings.SLACK_API_BASE_URL),
        ui_url=settings.setting(settings.UI_URL),
        alert_on_warn=settings.value(settings.ALERT_ON_WARN).lower() in ("1", "true", "yes"),
    )


def dbt(warehouse: Warehouse) -> GoldDbt:
    return GoldDbt(
        project_dir=str(settings.DBT_PROJECT_DIR),
        profiles_dir=str(settings.DBT_PROJECT_DIR),
        target=warehouse.dbt_target,
        # the dbt installed beside this interpreter, whether or not its venv is activated
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )


def resources(warehouse: Warehouse) -> dict[str, object]:
    return {
        "landing_zone": landing_zone(),
        "lake_io_manager": lake_io_manager(),
        "lake": lake(),
        "warehouse": warehouse,
        "slack": slack(),
        "dbt": dbt(warehouse),
    }
