"""Resources both profiles build the same way from the settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from data_platform import settings
from data_platform.resources.dbt import GoldDbt
from data_platform.resources.lake import Lake
from data_platform.resources.lake_io_manager import LakeIOManager
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.object_store import storage_config
from data_platform.resources.slack import SlackAlerts
from data_platform.resources.warehouse import Warehouse


def _lake_location() -> dict[str, Any]:
    """Where the lake is and how to reach it: one configuration, for the IO manager that writes
    its tables and for the `Lake` that checks and upkeep read them with."""
    return {
        "root_uri": settings.env_or_default(settings.LAKE_DIR),
        "storage_options": storage_config(settings.read(settings.LAKE_DIR)),
    }


def lake_io_manager() -> LakeIOManager:
    return LakeIOManager(**_lake_location())


def lake() -> Lake:
    return Lake(**_lake_location())


def landing_zone() -> LandingZone:
    settle = settings.read(settings.LANDING_SETTLE)
    return LandingZone(
        url=settings.env_or_default(settings.LANDING_DIR),
        storage_options=storage_config(settings.read(settings.LANDING_DIR)),
        settle_seconds=float(settle) if settle else None,
    )


def slack() -> SlackAlerts:
    return SlackAlerts(
        token=settings.env_or_default(settings.SLACK_TOKEN),
        channel=settings.env_or_default(settings.SLACK_CHANNEL),
        api_base_url=settings.env_or_default(settings.SLACK_API_BASE_URL),
        ui_url=settings.env_or_default(settings.UI_URL),
        alert_on_warn=settings.read(settings.ALERT_ON_WARN).lower() in ("1", "true", "yes"),
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
