"""The shape of an entity contract; bronze, silver, quarantine and checks are derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import polars as pl


class ColumnKind(Enum):
    """TPC-H's column types, each with the one polars type silver stores it as."""

    IDENTIFIER = "identifier"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    TEXT = "text"

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self]

    @property
    def sql_type(self) -> str:
        """The type DuckDB reads the silver column as (what dbt's sources declare)."""
        return _SQL_TYPES[self]


_DTYPES: dict[ColumnKind, pl.DataType] = {
    ColumnKind.IDENTIFIER: pl.Int64(),
    ColumnKind.INTEGER: pl.Int64(),
    ColumnKind.DECIMAL: pl.Decimal(15, 2),
    ColumnKind.DATE: pl.Date(),
    ColumnKind.TEXT: pl.String(),
}


_SQL_TYPES: dict[ColumnKind, str] = {
    ColumnKind.IDENTIFIER: "BIGINT",
    ColumnKind.INTEGER: "BIGINT",
    ColumnKind.DECIMAL: "DECIMAL(15,2)",
    ColumnKind.DATE: "DATE",
    ColumnKind.TEXT: "VARCHAR",
}


class Classification(Enum):
    """How sensitive a column's values are, least to most; the UI shows it as the column tag
    `classification`, dbt as column meta."""

    PUBLIC = "public"
    # money amounts: balances, prices, costs
    FINANCIAL = "financial"
    # personal data: what identifies or reaches a person (names, addresses, phone numbers)
    PII = "pii"

    @property
    def rank(self) -> int:
        return list(Classification).index(self)


class GoldTreatment(Enum):
    """What gold carries instead of a personal value (see `macros/privacy.sql`)."""

    # a keyed hash: the same value has the same pseudonym, which without the salt reveals nothing
    PSEUDONYM = "pseudonym"
    # every letter and digit replaced by `*`: only the value's shape remains
    MASK = "mask"


@dataclass(frozen=True)
class Column:
    """A column of an entity; a `pii` column, and only a `pii` column, says how gold carries it."""

    name: str
    kind: ColumnKind
    description: str
    classification: Classification = Classification.PUBLIC
    gold_treatment: GoldTreatment | None = None

    def __post_init__(self) -> None:
        if (self.classification is Classification.PII) != (self.gold_treatment is not None):
            raise ValueError(f"{self.name}: a pii column, and only a pii column, has a treatment")


@dataclass(frozen=True, eq=False)
class Rule:
    """A business rule on typed rows; a row where `holds` is false is quarantined as `name`.

    `holds` may use the entity's columns and the lineage column `_business_date` (for orders and
    lineitem: the order date).
    """

    name: str
    description: str
    holds: pl.Expr


class Orphans(Enum):
    """What a row whose parent is missing (an orphan) means, declared per relation.

    Either way silver keeps the row (nothing landed is dropped), the marts' inner joins leave it
    out of gold until its parent is there (gold over the valid rows is built and correct), and
    the relation's check on silver lists it with its file. The policy says how loud that check is.
    """

    WAIT = "wait"
    """The parent may land later (an order's lines can arrive before the order): the check warns."""
    ERROR = "error"
    """The parent is reference data that must already be there (a customer's nation): the check
    fails, non-blocking, and alerts."""


@dataclass(frozen=True)
class Reference:
    """A relation: `columns` of a row refer to `parent_columns` of an entity named `parent`;
    `orphans` says what a row without its parent means (see `Orphans`)."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    orphans: Orphans = Orphans.WAIT


@dataclass(frozen=True)
class Entity:
    """A landed source table: its columns in TPC-H order, its primary key and its partitioning.

    `partitioned` entities (orders, lineitem) land one folder per business date and are daily
    partitioned assets; the others are dimension extracts rebuilt as a whole.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    partitioned: bool = False
    rules: tuple[Rule, ...] = ()
    references: tuple[Reference, ...] = ()
    # Share of landed rows in quarantine above which the quarantine-rate check warns, then fails.
    quarantine_warn_rate: float = 0.001
    quarantine_error_rate: float = 0.01

    def __post_init__(self) -> None:
        missing = set(self.primary_key) - set(self.column_names)
        if missing:
            raise ValueError(f"{self.name}: primary key columns {sorted(missing)} are not columns")
        for reference in self.references:
            unknown = set(reference.columns) - set(self.column_names)
            if unknown or len(reference.columns) != len(reference.parent_columns):
                raise ValueError(f"{self.name}: bad reference to {reference.parent}")

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    @property
    def column_types(self) -> dict[str, pl.DataType]:
        return {column.name: column.kind.dtype for column in self.columns}

    @property
    def sensitivity(self) -> Classification:
        """The most sensitive classification of its columns: that of a whole raw record."""
        return max((column.classification for column in self.columns), key=lambda c: c.rank)
