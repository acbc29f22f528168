"""Bronze text rows to silver: drop redelivered files, type per contract, keep the latest version.

Every bronze row ends in exactly one place: silver (current version), superseded (an older
version, a delete marker or a deleted row), quarantine (with a reason), or redelivered (a copy of a
file that already landed under another name).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_platform.contracts import ColumnKind, Entity
from data_platform.contracts import lineage as lin

INTEGER_PATTERN = r"^[+-]?\d{1,18}$"
DECIMAL_PATTERN = r"^[+-]?(\d{1,13}(\.\d{1,2})?|\.\d{1,2})$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d")

BAD_OP = "bad_op"
BAD_CHANGED_AT = "bad_changed_at"
MISSING_KEY = "missing_key"
MISSING_VALUE = "missing_value"
BAD_NUMBER = "bad_number"
BAD_DATE = "bad_date"


@dataclass(frozen=True)
class SilverResult:
    """Silver and quarantine rows, and where every landed row went, per file and business date."""

    silver: pl.DataFrame
    quarantine: pl.DataFrame
    per_file: pl.DataFrame

    @property
    def outcomes(self) -> pl.DataFrame:
        """The outcome counts per business date."""
        counts = [c for c in self.per_file.columns if c not in (lin.BUSINESS_DATE, lin.SOURCE_FILE)]
        return (
            self.per_file.group_by(lin.BUSINESS_DATE)
            .agg(pl.col(counts).sum())
            .sort(lin.BUSINESS_DATE)
        )

    def total(self, outcome: str) -> int:
        return int(self.outcomes[outcome].sum())

    @property
    def balanced(self) -> bool:
        return balanced(self.outcomes)


def unaccounted() -> pl.Expr:
    """Landed rows that are neither current, superseded, quarantined nor a redelivery."""
    accounted = pl.sum_horizontal("current", "superseded", "quarantined", "redelivered")
    return pl.col("landed") - accounted


def balanced(outcomes: pl.DataFrame) -> bool:
    """Every landed row of every date (or file) is accounted for."""
    return bool(outcomes.select((unaccounted() == 0).all()).item())


def refine(entity: Entity, bronze: pl.DataFrame) -> SilverResult:
    """The whole bronze-to-silver step for one slice of an entity."""
    originals, redelivered = split_redelivered(entity, bronze)
    typed, quarantine = type_rows(entity, originals)
    silver, deleted = latest_versions(entity, typed)
    counts = _count_by_file(
        {
            "landed": bronze,
            "typed": typed,
            "current": silver,
            "quarantined": quarantine,
            "redelivered": redelivered,
            "deleted": deleted,
        }
    )
    # a typed row is the current version of its key or superseded (by a newer one, or deleted)
    superseded = (pl.col("typed") - pl.col("current")).alias("superseded")
    per_file = counts.with_columns(superseded).select(
        lin.BUSINESS_DATE,
        lin.SOURCE_FILE,
        "landed",
        "current",
        "superseded",
        "quarantined",
        "redelivered",
        "deleted",
    )
    return SilverResult(silver=silver, quarantine=quarantine, per_file=per_file)


def _count_by_file(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    where = [lin.BUSINESS_DATE, lin.SOURCE_FILE]
    files = pl.concat([frame.select(where) for frame in frames.values()]).unique()
    for name, frame in frames.items():
        counts = frame.group_by(where).agg(pl.len().cast(pl.Int64).alias(name))
        files = files.join(counts, on=where, how="left")
    return files.fill_null(0).sort(where)


def _scope(entity: Entity) -> list[str]:
    """Versions compete within a business date for daily entities, across extracts otherwise."""
    return [lin.BUSINESS_DATE] if entity.partitioned else []


def split_redelivered(entity: Entity, bronze: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first landing of each file content; later copies under other names are dropped."""
    files = (
        bronze.select(*_scope(entity), lin.FILE_FINGERPRINT, lin.FILE_LANDED_AT, lin.SOURCE_FILE)
        .unique()
        .sort(lin.FILE_LANDED_AT, lin.SOURCE_FILE)
    )
    first = files.filter(
        pl.struct(*_scope(entity), lin.FILE_FINGERPRINT).is_first_distinct()
    ).select(lin.SOURCE_FILE)
    originals = bronze.join(first, on=lin.SOURCE_FILE, how="semi", maintain_order="left")
    copies = bronze.join(first, on=lin.SOURCE_FILE, how="anti", maintain_order="left")
    return originals, copies


def _text(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def _op() -> pl.Expr:
    return pl.col(lin.OP).str.strip_chars().str.to_uppercase().fill_null("I").replace("", "I")


def _changed_at() -> pl.Expr:
    text = _text(lin.CHANGED_AT).str.replace(" ", "T").str.replace(r"Z$", "+00:00")
    return pl.coalesce(
        [text.str.to_datetime(f, time_zone="UTC", strict=False) for f in TIMESTAMP_FORMATS]
    ).cast(lin.UTC_TIMESTAMP)


def _typed(kind: ColumnKind, name: str) -> pl.Expr:
    if kind is ColumnKind.TEXT:
        return pl.col(name)
    if kind is ColumnKind.DATE:
        return _text(name).str.to_date("%Y-%m-%d", strict=False)
    return _text(name).cast(kind.dtype, strict=False)


def _column_error(entity: Entity, kind: ColumnKind, name: str) -> pl.Expr:
    """The reason a value cannot be typed, or null when it can."""
    value = _text(name)
    is_key = name in entity.primary_key
    missing = pl.col(name).is_null() | ((value == "") & pl.lit(kind is not ColumnKind.TEXT))
    if is_key:
        missing = missing | (value == "")
    if kind is ColumnKind.TEXT:
        malformed = pl.lit(False)
    elif kind is ColumnKind.DATE:
        malformed = ~value.str.contains(DATE_PATTERN) | _typed(kind, name).is_null()
    else:
        pattern = DECIMAL_PATTERN if kind is ColumnKind.DECIMAL else INTEGER_PATTERN
        malformed = ~value.str.contains(pattern)
    bad = BAD_DATE if kind is ColumnKind.DATE else BAD_NUMBER
    return (
        pl.when(missing)
        .then(pl.lit(MISSING_KEY if is_key else MISSING_VALUE))
        .when(malformed)
        .then(pl.lit(bad))
    )


def _errors(entity: Entity) -> list[tuple[pl.Expr, pl.Expr]]:
    """(reason, detail) expressions in the order they are tested; the first that fires wins."""
    is_delete = _op() == "D"
    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (pl.col(lin.LAYOUT_ERROR), pl.lit("record does not fit the file's layout")),
        (
            pl.when(~_op().is_in(lin.OPS)).then(pl.lit(BAD_OP)),
            pl.format("_op {} is not one of I, U, D", pl.col(lin.OP)),
        ),
        (
            pl.when((_text(lin.CHANGED_AT) != "") & _changed_at().is_null()).then(
                pl.lit(BAD_CHANGED_AT)
            ),
            pl.format("_changed_at {} is not an ISO timestamp", pl.col(lin.CHANGED_AT)),
        ),
    ]
    ordered = sorted(entity.columns, key=lambda c: c.name not in entity.primary_key)
    for column in ordered:
        error = _column_error(entity, column.kind, column.name)
        if column.name not in entity.primary_key:
            error = pl.when(~is_delete).then(error)
        detail = pl.format(f"{column.name}='{{}}' is not a valid {column.kind.value}", column.name)
        checks.append((error, detail))
    return checks


def _broken_rules(entity: Entity, bronze: pl.DataFrame, typable: pl.Series) -> pl.DataFrame:
    """The first business rule each typable, non-delete row breaks (reason, detail), else nulls."""
    if not entity.rules:
        return pl.DataFrame(
            {lin.REASON: [None] * bronze.height, lin.DETAIL: [None] * bronze.height},
            schema={lin.REASON: pl.String, lin.DETAIL: pl.String},
        )
    typed = bronze.select(
        *[_typed(column.kind, column.name).alias(column.name) for column in entity.columns],
        lin.BUSINESS_DATE,
        (_op() != "D").alias("_judge"),
    ).with_columns(_judge=pl.col("_judge") & typable)
    broken = [(~rule.holds).fill_null(False) & pl.col("_judge") for rule in entity.rules]
    return typed.select(
        pl.coalesce(
            [pl.when(b).then(pl.lit(r.name)) for b, r in zip(broken, entity.rules, strict=True)]
        ).alias(lin.REASON),
        pl.coalesce(
            [
                pl.when(b).then(pl.lit(r.description))
                for b, r in zip(broken, entity.rules, strict=True)
            ]
        ).alias(lin.DETAIL),
    )


def type_rows(entity: Entity, bronze: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every column per the contract; rows that cannot be typed, or that break a business
    rule of the contract, go to quarantine with the reason."""
    checks = _errors(entity)
    judged = bronze.with_columns(pl.coalesce([error for error, _ in checks]).alias(lin.REASON))
    rules = _broken_rules(entity, judged, judged[lin.REASON].is_null())
    judged = judged.with_columns(
        pl.coalesce(pl.col(lin.REASON), rules[lin.REASON]).alias(lin.REASON),
        rules[lin.DETAIL].alias(lin.DETAIL),
    )
    # the detail is written for quarantined rows only: formatting it for every row costs more
    # than typing them
    rejected = judged.filter(pl.col(lin.REASON).is_not_null())
    detail = pl.coalesce([pl.when(error.is_not_null()).then(text) for error, text in checks])
    quarantine = rejected.with_columns(pl.coalesce(detail, lin.DETAIL).alias(lin.DETAIL)).select(
        *[pl.col(name).cast(dtype) for name, dtype in lin.quarantine_schema(entity).items()]
    )
    typed = judged.filter(pl.col(lin.REASON).is_null()).select(
        *[_typed(column.kind, column.name).alias(column.name) for column in entity.columns],
        _op().alias(lin.OP),
        _changed_at().alias(lin.CHANGED_AT),
        lin.BUSINESS_DATE,
        lin.FILE_LANDED_AT,
        lin.SOURCE_FILE,
        lin.SOURCE_LINE,
        lin.INGESTED_AT,
    )
    return typed, quarantine


def latest_versions(entity: Entity, typed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per key: the latest by `_changed_at`, then landing order; deleted keys removed."""
    key = [*_scope(entity), *entity.primary_key]
    latest = typed.sort(
        [lin.CHANGED_AT, lin.BUSINESS_DATE, lin.FILE_LANDED_AT, lin.SOURCE_FILE, lin.SOURCE_LINE],
        nulls_last=False,
    ).unique(subset=key, keep="last", maintain_order=True)
    deleted = latest.filter(pl.col(lin.OP) == "D")
    silver = (
        latest.filter(pl.col(lin.OP) != "D")
        .sort(key)
        .select([pl.col(name).cast(dtype) for name, dtype in lin.silver_schema(entity).items()])
    )
    return silver, deleted
