"""The environment profile: every setting the platform reads, its local default, and the resources.

Settings are environment variables read through Dagster's `EnvVar` when set, so the UI shows
where a value came from and secrets never land in run config. Unset, the local default applies:
a landing folder, a lake folder and a DuckDB file under `data/`. A lake or landing URL starting with
`s3://` switches that store to S3, configured by the usual `AWS_*` variables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_deltalake import LocalConfig, S3Config

from data_platform.assets.gold import DBT_PROJECT_DIR
from data_platform.assets.partitions import TPCH_FIRST_ORDER_DATE
from data_platform.resources.dbt import GoldDbt
from data_platform.resources.lake import Lake
from data_platform.resources.lake_io_manager import LakeIOManager
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.slack import LOCAL_UI_URL, SLACK_API, SlackAlerts
from data_platform.resources.warehouse import Warehouse

LANDING_DIR = "PLATFORM_LANDING_DIR"
LAKE_DIR = "PLATFORM_LAKE_DIR"
WAREHOUSE_PATH = "PLATFORM_WAREHOUSE_PATH"
PARTITIONS_START = "PLATFORM_PARTITIONS_START"
SENSOR_INTERVAL = "PLATFORM_SENSOR_INTERVAL_SECONDS"
AUTOMATION_INTERVAL = "PLATFORM_AUTOMATION_INTERVAL_SECONDS"
ALERT_INTERVAL = "PLATFORM_ALERT_INTERVAL_SECONDS"
SLACK_TOKEN = "SLACK_BOT_TOKEN"
SLACK_CHANNEL = "SLACK_CHANNEL"
SLACK_API_BASE_URL = "SLACK_API_BASE_URL"
UI_URL = "PLATFORM_UI_URL"
ALERT_ON_WARN = "PLATFORM_ALERT_ON_WARN"
FRESHNESS_FAIL_AFTER = "PLATFORM_FRESHNESS_FAIL_AFTER"
FRESHNESS_WARN_AFTER = "PLATFORM_FRESHNESS_WARN_AFTER"
FRESHNESS_DIMENSIONS_FAIL_AFTER = "PLATFORM_FRESHNESS_DIMENSIONS_FAIL_AFTER"
FRESHNESS_DEADLINE_CRON = "PLATFORM_FRESHNESS_DEADLINE_CRON"
FRESHNESS_DEADLINE_WINDOW = "PLATFORM_FRESHNESS_DEADLINE_WINDOW"
FRESHNESS_TIMEZONE = "PLATFORM_FRESHNESS_TIMEZONE"

LOCAL_DEFAULTS = {
    LANDING_DIR: "data/landing",
    LAKE_DIR: "data/lake",
    WAREHOUSE_PATH: "data/warehouse.duckdb",
    PARTITIONS_START: TPCH_FIRST_ORDER_DATE,
    # how often the landing sensor lists the landing zone, and the automation sensor evaluates
    SENSOR_INTERVAL: "30",
    AUTOMATION_INTERVAL: "30",
    ALERT_INTERVAL: "15",
    # Slack alerts are off until a bot token and a channel (its ID, e.g. C0123ABCD) are set
    SLACK_TOKEN: "",
    SLACK_CHANNEL: "",
    SLACK_API_BASE_URL: SLACK_API,
    # where alert links point: the Dagster UI as its users reach it
    UI_URL: LOCAL_UI_URL,
    ALERT_ON_WARN: "false",
    # freshness windows (data_platform/automation/freshness.py): durations like 90s, 45m, 26h, 8d
    FRESHNESS_FAIL_AFTER: "26h",
    FRESHNESS_WARN_AFTER: "",
    FRESHNESS_DIMENSIONS_FAIL_AFTER: "8d",
    FRESHNESS_DEADLINE_CRON: "",
    FRESHNESS_DEADLINE_WINDOW: "24h",
    FRESHNESS_TIMEZONE: "UTC",
}

S3_VARIABLES = {
    "endpoint": "AWS_ENDPOINT_URL",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "region": "AWS_REGION",
}


def value(name: str) -> str:
    """A setting's value now (for what must be known when definitions load)."""
    return os.environ.get(name) or LOCAL_DEFAULTS[name]


def setting(name: str) -> str | dg.EnvVar:
    """A setting for resource config: the environment variable if set, else the local default."""
    return dg.EnvVar(name) if os.environ.get(name) else LOCAL_DEFAULTS[name]


def _is_s3(name: str) -> bool:
    return value(name).startswith(("s3://", "s3a://"))


def _s3_settings() -> dict[str, str]:
    """The AWS_* variables that are set, by S3Config's field names (delta-rs takes them too)."""
    return {field: dg.EnvVar(var) for field, var in S3_VARIABLES.items() if os.environ.get(var)}


def _s3_config() -> S3Config:
    """S3 (or an S3-compatible store) configured from the AWS_* variables that are set."""
    return S3Config.model_validate(_s3_settings())


def _storage(name: str) -> S3Config | LocalConfig:
    return _s3_config() if _is_s3(name) else LocalConfig()


def lake_io_manager() -> LakeIOManager:
    return LakeIOManager(root_uri=setting(LAKE_DIR), storage_options=_storage(LAKE_DIR))


def lake() -> Lake:
    """The same lake for maintenance, with the storage options delta-rs takes."""
    options = _s3_settings() if _is_s3(LAKE_DIR) else {}
    return Lake(root_uri=setting(LAKE_DIR), storage_options=options)


def landing_zone() -> LandingZone:
    return LandingZone(url=setting(LANDING_DIR), storage_options=_storage(LANDING_DIR))


def warehouse() -> Warehouse:
    return Warehouse(path=setting(WAREHOUSE_PATH), lake_dir=setting(LAKE_DIR))


def slack() -> SlackAlerts:
    return SlackAlerts(
        token=setting(SLACK_TOKEN),
        channel=setting(SLACK_CHANNEL),
        api_base_url=setting(SLACK_API_BASE_URL),
        ui_url=setting(UI_URL),
        alert_on_warn=value(ALERT_ON_WARN).lower() in ("1", "true", "yes"),
    )


def resources() -> dict[str, object]:
    return {
        "landing_zone": landing_zone(),
        "lake_io_manager": lake_io_manager(),
        "lake": lake(),
        "warehouse": warehouse(),
        "slack": slack(),
        "dbt": GoldDbt(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            # the dbt installed beside this interpreter, whether or not its venv is activated
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
