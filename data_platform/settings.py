"""Every setting the platform reads: its environment variable and its local default.

Settings are environment variables read through Dagster's `EnvVar` when set, so the UI shows
where a value came from and secrets never land in run config. Unset, the local default applies:
a landing folder, a lake folder and a DuckDB file under `data/`. Which resources the settings build
is the profile's business (`data_platform/profiles`), chosen by `PLATFORM_PROFILE`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

# the dbt project gold is built from: the package's sibling in the repository
DBT_PROJECT_DIR = Path(__file__).parents[1] / "dbt_project"

# TPC-H's first order date: where the business dates of unshifted TPC-H data start
TPCH_FIRST_ORDER_DATE = "1992-01-01"

PROFILE = "PLATFORM_PROFILE"
LANDING_DIR = "PLATFORM_LANDING_DIR"
LAKE_DIR = "PLATFORM_LAKE_DIR"
WAREHOUSE_PATH = "PLATFORM_WAREHOUSE_PATH"
QUALITY_PATH = "PLATFORM_QUALITY_PATH"
QUALITY_CATALOG = "PLATFORM_QUALITY_CATALOG"
GOLD_CATALOG = "PLATFORM_GOLD_CATALOG"
GOLD_DATA_PATH = "PLATFORM_GOLD_DATA_PATH"
CELERY_BROKER = "PLATFORM_CELERY_BROKER"
CELERY_BACKEND = "PLATFORM_CELERY_BACKEND"
WAREHOUSE_LOCK_TIMEOUT = "PLATFORM_WAREHOUSE_LOCK_TIMEOUT_SECONDS"
WAREHOUSE_BUSY_RETRIES = "PLATFORM_WAREHOUSE_BUSY_RETRIES"
WAREHOUSE_READER_TIMEOUT = "PLATFORM_WAREHOUSE_READER_TIMEOUT_SECONDS"
STEP_RETRIES = "PLATFORM_STEP_RETRIES"
STEP_RETRY_DELAY = "PLATFORM_STEP_RETRY_DELAY_SECONDS"
PARTITIONS_START = "PLATFORM_PARTITIONS_START"
PSEUDONYM_SALT = "PLATFORM_PSEUDONYM_SALT"
SENSOR_INTERVAL = "PLATFORM_SENSOR_INTERVAL_SECONDS"
LANDING_SETTLE = "PLATFORM_LANDING_SETTLE_SECONDS"
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
DROP_LAG_DAYS = "PLATFORM_DROP_LAG_DAYS"
DROP_DEADLINE_CRON = "PLATFORM_DROP_DEADLINE_CRON"
RETRY_FAILED_CRON = "PLATFORM_RETRY_FAILED_CRON"
RUN_MAX_SECONDS = "PLATFORM_RUN_MAX_SECONDS"
RUN_RETRIES = "PLATFORM_RUN_RETRIES"
RETENTION_LANDING_DAYS = "PLATFORM_RETENTION_LANDING_DAYS"
RETENTION_QUARANTINE_DAYS = "PLATFORM_RETENTION_QUARANTINE_DAYS"
RETENTION_DELTA_HOURS = "PLATFORM_RETENTION_DELTA_HOURS"

LOCAL_DEFAULTS = {
    # `local` (SQLite instance, local disk, steps in the run's process) or `production`
    # (PostgreSQL instance, object storage, steps on Celery workers): data_platform/profiles
    PROFILE: "local",
    LANDING_DIR: "data/landing",
    LAKE_DIR: "data/lake",
    WAREHOUSE_PATH: "data/warehouse.duckdb",
    # the quality mart (data_platform/assets/quality.py): its own DuckDB file, as gold's admits
    # one writer; empty: `data_quality.duckdb` beside the warehouse (not `quality.duckdb`: DuckDB
    # names the catalog after the file, and a catalog `quality` hides the mart's schema
    # `quality`); in the production profile a DuckLake, by default gold's (`ducklake:postgres:`
    # and PLATFORM_GOLD_CATALOG)
    QUALITY_PATH: "",
    QUALITY_CATALOG: "",
    # the production profile's gold: a DuckLake catalog (a libpq connection string for its
    # PostgreSQL database) and the object-store prefix its data files go to
    GOLD_CATALOG: "dbname=platform_gold host=127.0.0.1 user=postgres",
    GOLD_DATA_PATH: "s3://platform/gold/",
    # the production profile's Celery broker and result backend
    CELERY_BROKER: "amqp://guest:guest@127.0.0.1:5672//",
    CELERY_BACKEND: "rpc://",
    # how long a gold build waits for another gold build before it asks to be retried
    WAREHOUSE_LOCK_TIMEOUT: "1800",
    # and, holding the lock, for a BI client to close the DuckDB file
    WAREHOUSE_READER_TIMEOUT: "1800",
    # and how many times such a build is run again (30 s apart) before its run fails
    WAREHOUSE_BUSY_RETRIES: "10",
    # how many more times a step that failed on a transient error is run (object store or
    # database unreachable, a lost commit race), first after this delay, then doubling
    STEP_RETRIES: "3",
    STEP_RETRY_DELAY: "10",
    # when automation requests again the partitions whose latest run failed (a cron; hourly), so
    # what failed on a cause outside the data heals once the cause is gone; "off" disables it
    RETRY_FAILED_CRON: "0 * * * *",
    # a run of the platform's sensors that runs longer than this is failed by run monitoring (it
    # would hold back everything downstream); one whose worker crashed is run again this often
    RUN_MAX_SECONDS: "7200",
    RUN_RETRIES: "2",
    # the first business date (daily partition); `make demo-data` lands TPC-H shifted so that its
    # newest order is yesterday and writes its first date to data/demo.env, which `make run` reads
    PARTITIONS_START: TPCH_FIRST_ORDER_DATE,
    # the key of gold's pseudonyms (dbt_project/macros/privacy.sql). This default is public, fit
    # for the local profile's synthetic demo data only; the production profile has no default:
    # set a secret there (e.g. `openssl rand -hex 32`), and never change it, or every pseudonym
    # changes with it
    PSEUDONYM_SALT: "local-demo-salt-not-a-secret",
    # how long a landed file must stay unchanged before the landing sensor requests it (a writer
    # that does not rename shows it half-written); empty: 2 s on a filesystem, 0 on an object
    # store, where an object appears whole (data_platform/resources/landing_zone.py)
    LANDING_SETTLE: "",
    # how often the landing sensor lists the landing zone, and the automation sensor evaluates
    SENSOR_INTERVAL: "30",
    AUTOMATION_INTERVAL: "30",
    ALERT_INTERVAL: "15",
    # Slack alerts are off until a bot token and a channel (its ID, e.g. C0123ABCD) are set
    SLACK_TOKEN: "",
    SLACK_CHANNEL: "",
    SLACK_API_BASE_URL: "https://slack.com/api/",
    # where alert links point: the Dagster UI as its users reach it
    UI_URL: "http://127.0.0.1:3000",
    ALERT_ON_WARN: "false",
    # freshness windows (data_platform/automation/freshness.py): durations like 90s, 45m, 26h, 8d
    FRESHNESS_FAIL_AFTER: "26h",
    FRESHNESS_WARN_AFTER: "",
    FRESHNESS_DIMENSIONS_FAIL_AFTER: "8d",
    FRESHNESS_DEADLINE_CRON: "",
    FRESHNESS_DEADLINE_WINDOW: "24h",
    FRESHNESS_TIMEZONE: "UTC",
    # data-time freshness (checks/drop_arrival.py): at this cron (in the timezone above; empty
    # turns it off), silver's newest business date must be at most this many days before today
    DROP_DEADLINE_CRON: "0 9 * * *",
    DROP_LAG_DAYS: "1",
    # retention (data_platform/jobs/retention.py): landed files move to the archive, quarantine
    # rows age out, after this many days; the lake's Delta history is kept this many hours
    RETENTION_LANDING_DAYS: "30",
    RETENTION_QUARANTINE_DAYS: "90",
    RETENTION_DELTA_HOURS: "168",
}


def read(name: str) -> str:
    """A setting's value now (for what must be known when definitions load)."""
    return os.environ.get(name) or LOCAL_DEFAULTS[name]


def env_or_default(name: str) -> str | dg.EnvVar:
    """A setting for resource config: the environment variable if set, else the local default."""
    return dg.EnvVar(name) if os.environ.get(name) else LOCAL_DEFAULTS[name]


def env_only(name: str) -> str | dg.EnvVar:
    """A setting the production profile takes from the environment alone: empty when unset."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def is_s3(name: str) -> bool:
    return read(name).startswith(("s3://", "s3a://"))


def config_source(name: str) -> str | dict[str, str]:
    """A setting for Dagster config (e.g. an executor's): read from the environment variable by
    Dagster when it is set, so its value never lands in the run's config; else the default."""
    return {"env": name} if os.environ.get(name) else LOCAL_DEFAULTS[name]
