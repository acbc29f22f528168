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
import re

import dagster as dg

from data_platform import settings

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> dt.timedelta:
    """`90s`, `45m`, `26h` or `8d` as a timedelta."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not found:
        raise ValueError(f"not a duration like 90s, 45m, 26h or 8d: {text!r}")
    return dt.timedelta(**{UNITS[found[2]]: int(found[1])})


def daily_policy() -> dg.FreshnessPolicy:
    """For assets the daily drops feed: silver orders and lineitem, every gold mart."""
    if cron := settings.read(settings.FRESHNESS_DEADLINE_CRON):
        return dg.FreshnessPolicy.cron(
            deadline_cron=cron,
            lower_bound_delta=duration(settings.read(settings.FRESHNESS_DEADLINE_WINDOW)),
            timezone=settings.read(settings.FRESHNESS_TIMEZONE),
        )
    fail = duration(settings.read(settings.FRESHNESS_FAIL_AFTER))
    warn = duration(w) if (w := settings.read(settings.FRESHNESS_WARN_AFTER)) else None
    if warn is not None and warn >= fail:
        raise ValueError(
            f"{settings.FRESHNESS_WARN_AFTER} ({warn}) must be shorter than "
            f"{settings.FRESHNESS_FAIL_AFTER} ({fail})"
        )
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


def dimensions_policy() -> dg.FreshnessPolicy:
    """For silver of the dimension extracts, which land rarely."""
    return dg.FreshnessPolicy.time_window(
        fail_window=duration(settings.read(settings.FRESHNESS_DIMENSIONS_FAIL_AFTER))
    )
