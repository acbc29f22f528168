"""How fresh silver and gold must be, in windows that fit the data's cadence.

Sources drop a day's files once a day, so an asset fed by the daily drops (orders, lineitem and
every gold mart) fails freshness when it has not been materialized for a little over a day; the
dimension extracts (customer, part, ...) land rarely, so their silver gets a week and a day. The
freshness daemon evaluates the policies; Slack hears of a FAIL and of the recovery (see alerts).

Windows are durations like `90s`, `45m`, `26h`, `8d`, set per environment. Setting
`PLATFORM_FRESHNESS_DEADLINE_CRON` (e.g. `0 9 * * *`) switches the daily assets to a deadline
policy instead: materialized within `PLATFORM_FRESHNESS_DEADLINE_WINDOW` (24h) before each tick.
"""

import datetime as dt
import os
import re

import dagster as dg

FAIL_AFTER = "PLATFORM_FRESHNESS_FAIL_AFTER"
WARN_AFTER = "PLATFORM_FRESHNESS_WARN_AFTER"
DIMENSIONS_FAIL_AFTER = "PLATFORM_FRESHNESS_DIMENSIONS_FAIL_AFTER"
DEADLINE_CRON = "PLATFORM_FRESHNESS_DEADLINE_CRON"
DEADLINE_WINDOW = "PLATFORM_FRESHNESS_DEADLINE_WINDOW"
TIMEZONE = "PLATFORM_FRESHNESS_TIMEZONE"

DEFAULTS = {
    FAIL_AFTER: "26h",
    WARN_AFTER: "",
    DIMENSIONS_FAIL_AFTER: "8d",
    DEADLINE_WINDOW: "24h",
    TIMEZONE: "UTC",
}
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> dt.timedelta:
    """`90s`, `45m`, `26h` or `8d` as a timedelta."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not found:
        raise ValueError(f"not a duration like 90s, 45m, 26h or 8d: {text!r}")
    return dt.timedelta(**{UNITS[found[2]]: int(found[1])})


def _setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS.get(name, "")


def daily_policy() -> dg.FreshnessPolicy:
    """For assets the daily drops feed: silver orders and lineitem, every gold mart."""
    if cron := _setting(DEADLINE_CRON):
        return dg.FreshnessPolicy.cron(
            deadline_cron=cron,
            lower_bound_delta=duration(_setting(DEADLINE_WINDOW)),
            timezone=_setting(TIMEZONE),
        )
    fail = duration(_setting(FAIL_AFTER))
    warn = duration(w) if (w := _setting(WARN_AFTER)) else None
    if warn is not None and warn >= fail:
        raise ValueError(f"{WARN_AFTER} ({warn}) must be shorter than {FAIL_AFTER} ({fail})")
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


def dimensions_policy() -> dg.FreshnessPolicy:
    """For silver of the dimension extracts, which land rarely."""
    return dg.FreshnessPolicy.time_window(fail_window=duration(_setting(DIMENSIONS_FAIL_AFTER)))
