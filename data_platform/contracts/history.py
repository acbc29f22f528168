"""Dimension history (SCD type 2): which entities keep every version of a key, valid when.

Silver holds a key's latest version; a report by a dimension's attribute over time (revenue by
the customer's nation on each order date) needs the version valid at the time instead. The
entities below get a history table, `silver/<entity>_history`, built from every version bronze
keeps, ordered as silver orders them (by `_changed_at`, then landing order).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_platform.contracts import lineage as lin
from data_platform.contracts.model import Entity
from data_platform.contracts.tpch import CUSTOMER, ENTITIES, SUPPLIER

# the dimensions gold reports by over time: customers' and suppliers' nations
HISTORY_ENTITIES: tuple[Entity, ...] = (CUSTOMER, SUPPLIER)

VALID_FROM = "valid_from"
VALID_TO = "valid_to"
IS_CURRENT = "is_current"

# A key's first version is valid from the beginning of time: orders predate the extract that
# first landed their customer. A version nothing replaced is valid until the end of time.
BEGINNING_OF_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
END_OF_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def history_name(entity: Entity) -> str:
    return f"{entity.name}_history"


def history_description(entity: Entity) -> str:
    """What the history table holds: the asset's description, and its dbt source's."""
    return (
        f"Every version of each {entity.name}, with the interval it was valid in.\n\n"
        "`valid_from`, `valid_to` (exclusive) and `is_current`, ordered by when the source "
        "changed it (`_changed_at`), late and out-of-order corrections included."
    )


def history_schema(entity: Entity) -> dict[str, pl.DataType]:
    """A version of the entity, its validity interval [valid_from, valid_to), and its lineage."""
    return {
        **entity.column_types,
        VALID_FROM: lin.UTC_TIMESTAMP,
        VALID_TO: lin.UTC_TIMESTAMP,
        IS_CURRENT: pl.Boolean(),
        lin.CHANGED_AT: lin.UTC_TIMESTAMP,
        lin.BUSINESS_DATE: pl.Date(),
        lin.SOURCE_FILE: pl.String(),
        lin.SOURCE_LINE: pl.Int64(),
        lin.INGESTED_AT: lin.UTC_TIMESTAMP,
    }


DESCRIPTIONS: dict[str, str] = {
    VALID_FROM: "When the version took effect: its `_changed_at` (else its extract date); "
    "0001-01-01 for a key's first version.",
    VALID_TO: "When the next version or a delete replaced it (exclusive); 9999-12-31 while "
    "nothing has.",
    IS_CURRENT: "Whether this is the key's version now (false for every version of a deleted key).",
}


def silver_tables() -> dict[str, tuple[Entity, dict[str, pl.DataType]]]:
    """Every silver table by name (an entity's, and a dimension's history) with its entity and
    schema: what gold reads."""
    tables = {entity.name: (entity, lin.silver_schema(entity)) for entity in ENTITIES}
    for entity in HISTORY_ENTITIES:
        tables[history_name(entity)] = (entity, history_schema(entity))
    return tables
