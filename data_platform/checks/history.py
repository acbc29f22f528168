"""Checks on a dimension's history, judged before the step writes it; both are blocking.

Gold joins an order to the version valid at its date: overlapping intervals would count the
order twice, and a live key without exactly one current version would disagree with silver.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from data_platform.checks.offenders import offenders
from data_platform.contracts import Entity
from data_platform.contracts import history as hist

INTERVALS = "intervals_do_not_overlap"
CURRENT = "one_current_version_per_live_key"


def specs(entity: Entity, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            INTERVALS,
            asset=key,
            blocking=True,
            description=f"Each version's [valid_from, valid_to) is non-empty and no two versions "
            f"of a {', '.join(entity.primary_key)} overlap.",
        ),
        dg.AssetCheckSpec(
            CURRENT,
            asset=key,
            blocking=True,
            description="Every key silver holds has exactly one current version, open-ended; a "
            "deleted key has none.",
        ),
    ]


def intervals_do_not_overlap(
    entity: Entity, key: dg.AssetKey, history: pl.DataFrame
) -> dg.AssetCheckResult:
    keys = list(entity.primary_key)
    ordered = history.sort([*keys, hist.VALID_FROM])
    previous_end = pl.col(hist.VALID_TO).shift().over(keys)
    found = ordered.filter(
        (pl.col(hist.VALID_FROM) >= pl.col(hist.VALID_TO))
        | (pl.col(hist.VALID_FROM) < previous_end).fill_null(False)
    ).select(*keys, hist.VALID_FROM, hist.VALID_TO)
    return offenders(found, "bad_versions", asset_key=key, check_name=INTERVALS)


def one_current_version_per_live_key(
    entity: Entity, key: dg.AssetKey, history: pl.DataFrame, live_keys: pl.DataFrame
) -> dg.AssetCheckResult:
    keys = list(entity.primary_key)
    open_ended = pl.col(hist.VALID_TO) == pl.lit(hist.END_OF_TIME, pl.Datetime("us", "UTC"))
    current = (
        history.filter(pl.col(hist.IS_CURRENT))
        .group_by(keys)
        .agg(pl.len().alias("current_versions"), open_ended.all().alias("open_ended"))
    )
    expected = live_keys.select(keys).with_columns(live=pl.lit(True))
    found = (
        current.join(expected, on=keys, how="full", coalesce=True)
        .with_columns(
            pl.col("current_versions").fill_null(0),
            pl.col("live").fill_null(False),
        )
        .filter(
            (pl.col("current_versions") != pl.col("live").cast(pl.UInt32))
            | ~pl.col("open_ended").fill_null(True)
        )
        .sort(keys)
    )
    return offenders(found, "keys", asset_key=key, check_name=CURRENT)
