"""Bronze text rows to a dimension's history: every version of a key with its validity interval.

Versions are the typed rows silver chooses its latest from (redeliveries and quarantined rows
left out), in silver's order: by `_changed_at`, then landing order, so a correction that arrives
late still takes its place in time. A version takes effect at its `_changed_at` (without one, at
its extract date, never before a version ordered ahead of it) and is valid until the next version
or delete of its key; a key's first version is valid from the beginning of time. A version equal
to the one before it (a re-extract of the same values) extends it instead of starting another.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_platform.contracts import Entity
from data_platform.contracts import history as hist
from data_platform.contracts import lineage as lin
from data_platform.transforms.silver import latest_versions, split_redelivered, type_rows

VERSION_ORDER = [
    lin.CHANGED_AT,
    lin.BUSINESS_DATE,
    lin.FILE_LANDED_AT,
    lin.SOURCE_FILE,
    lin.SOURCE_LINE,
]


@dataclass(frozen=True)
class HistoryResult:
    """The history, and the keys silver holds (the live ones) from the same landed rows."""

    history: pl.DataFrame
    live_keys: pl.DataFrame


def refine_history(entity: Entity, bronze: pl.DataFrame) -> HistoryResult:
    """The whole bronze-to-history step for an entity (all its landed rows)."""
    originals, _ = split_redelivered(entity, bronze)
    typed, _ = type_rows(entity, originals)
    live = latest_versions(entity, typed)[0].select(entity.primary_key)
    return HistoryResult(history=history(entity, typed), live_keys=live)


def _first(key: list[str]) -> pl.Expr:
    """Whether the row is its key's first (rows sorted by key)."""
    return pl.struct(key).is_first_distinct()


def _last(key: list[str]) -> pl.Expr:
    return pl.struct(key).is_last_distinct()


def history(entity: Entity, typed: pl.DataFrame) -> pl.DataFrame:
    """Validity intervals from typed versions and deletes (`type_rows`' output)."""
    key = list(entity.primary_key)
    is_delete = pl.col(lin.OP) == "D"
    events = typed.with_columns(is_delete.alias("_is_delete")).sort(
        [*key, *VERSION_ORDER], nulls_last=False
    )
    state = [c for c in entity.column_names if c not in key] + ["_is_delete"]
    changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift().over(key)) for c in state)
    events = events.filter(_first(key) | changed)
    extract_date = pl.col(lin.BUSINESS_DATE).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    effective = pl.coalesce(pl.col(lin.CHANGED_AT), extract_date)
    valid_from = (
        pl.when(pl.col("_first"))
        .then(pl.lit(hist.BEGINNING_OF_TIME, lin.UTC_TIMESTAMP))
        .otherwise(effective)
        .cum_max()
        .over(key)
    )
    events = events.with_columns(_first(key).alias("_first"), _last(key).alias("_last"))
    events = events.with_columns(valid_from.alias(hist.VALID_FROM))
    intervals = events.with_columns(
        pl.col(hist.VALID_FROM)
        .shift(-1)
        .over(key)
        .fill_null(pl.lit(hist.END_OF_TIME, lin.UTC_TIMESTAMP))
        .alias(hist.VALID_TO),
        (pl.col("_last") & ~pl.col("_is_delete")).alias(hist.IS_CURRENT),
    )
    # a delete only closes the version before it; a version replaced at the instant it took
    # effect was never valid
    kept = intervals.filter(
        ~pl.col("_is_delete") & (pl.col(hist.VALID_FROM) < pl.col(hist.VALID_TO))
    )
    schema = hist.history_schema(entity)
    return kept.sort([*key, hist.VALID_FROM]).select(
        [pl.col(name).cast(dtype) for name, dtype in schema.items()]
    )
