"""Lineage and change-data columns every layer carries next to an entity's own columns."""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_platform.contracts.model import Entity

OP = "_op"
CHANGED_AT = "_changed_at"
BUSINESS_DATE = "_business_date"
SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"
FILE_FINGERPRINT = "_file_fingerprint"
FILE_LANDED_AT = "_file_landed_at"
INGESTED_AT = "_ingested_at"
LAYOUT_ERROR = "_layout_error"
RAW_RECORD = "_raw_record"
EXTRA_COLUMNS = "_extra_columns"
REASON = "_reason"
DETAIL = "_detail"

CHANGE_COLUMNS = (OP, CHANGED_AT)

OPS = ("I", "U", "D")

UTC_TIMESTAMP = pl.Datetime("us", "UTC")

LANDED_LINEAGE: dict[str, pl.DataType] = {
    BUSINESS_DATE: pl.Date(),
    SOURCE_FILE: pl.String(),
    SOURCE_LINE: pl.Int64(),
    FILE_FINGERPRINT: pl.String(),
    FILE_LANDED_AT: UTC_TIMESTAMP,
    LAYOUT_ERROR: pl.String(),
    RAW_RECORD: pl.String(),
    EXTRA_COLUMNS: pl.String(),
}


def bronze_schema(entity: Entity) -> dict[str, pl.DataType]:
    """Bronze keeps every landed value as text, then where and when it landed."""
    return {
        **dict.fromkeys([*entity.column_names, *CHANGE_COLUMNS], pl.String()),
        **LANDED_LINEAGE,
        INGESTED_AT: UTC_TIMESTAMP,
    }


def silver_schema(entity: Entity) -> dict[str, pl.DataType]:
    """Silver is typed per the contract and keeps the lineage of the version it chose."""
    return {
        **entity.column_types,
        CHANGED_AT: UTC_TIMESTAMP,
        BUSINESS_DATE: pl.Date(),
        SOURCE_FILE: pl.String(),
        SOURCE_LINE: pl.Int64(),
        INGESTED_AT: UTC_TIMESTAMP,
    }


def quarantine_schema(entity: Entity) -> dict[str, pl.DataType]:
    """Quarantine keeps a rejected row's raw values, why it was rejected and where it came from."""
    return {
        REASON: pl.String(),
        DETAIL: pl.String(),
        **dict.fromkeys([*entity.column_names, *CHANGE_COLUMNS], pl.String()),
        RAW_RECORD: pl.String(),
        BUSINESS_DATE: pl.Date(),
        SOURCE_FILE: pl.String(),
        SOURCE_LINE: pl.Int64(),
        INGESTED_AT: UTC_TIMESTAMP,
    }


DESCRIPTIONS: dict[str, str] = {
    OP: "Change operation as landed: I insert, U update, D delete (absent means I).",
    CHANGED_AT: "When the source system changed the row (ISO timestamp), if it said.",
    BUSINESS_DATE: "The landing date folder: order date (orders, lineitem) or extract date.",
    SOURCE_FILE: "Landed file the row came from, relative to the landing zone.",
    SOURCE_LINE: "Line (text formats) or row (parquet) number in the source file, from 1.",
    FILE_FINGERPRINT: "SHA-256 of the file's bytes, equal for a copy landed under a new name.",
    FILE_LANDED_AT: "When the file landed (its modification time), used for landing order.",
    INGESTED_AT: "When the platform read the file into bronze.",
    LAYOUT_ERROR: "Why the record does not fit its file's layout, if it does not.",
    RAW_RECORD: "The record's raw text when it could not be split into fields.",
    EXTRA_COLUMNS: "Columns of the source file the contract does not know, as a JSON object of "
    "name to text value (schema drift): kept in bronze, not carried into silver.",
    REASON: "The rule the row broke: a layout error, or a typing rule such as bad_number.",
    DETAIL: "The failing column and value, for a person to act on.",
}


def in_business_dates(low: dt.date, high: dt.date) -> pl.Expr:
    """Rows whose business date is in [low, high): a run's window of daily partitions."""
    return pl.col(BUSINESS_DATE).is_between(low, high, closed="left")
