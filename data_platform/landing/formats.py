"""Readers for each landed format. Every record becomes one bronze row of text, however broken.

A record that does not fit its format's layout keeps its raw text and a layout error; silver sends
it to quarantine with that reason. A file that cannot be read at all becomes one such row (line 0).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin
from data_platform.landing.layout import LandedFile

BOM = "\ufeff"
TBL_SEPARATOR = "|"
FILE_INDEX = "_file"

WRONG_FIELD_COUNT = "wrong_field_count"
TRUNCATED_LINE = "truncated_line"
INVALID_UTF8 = "invalid_utf8"
UNREADABLE_FILE = "unreadable_file"


@dataclass(frozen=True)
class Lines:
    """A text file's content, the line numbers that were not valid UTF-8, and a final newline."""

    text: str
    invalid: frozenset[int]
    terminated: bool


@dataclass(frozen=True)
class Decoded:
    """A landed file after decompression, fingerprinting and (for text formats) decoding."""

    landed: LandedFile
    fingerprint: str
    raw: bytes | None = None
    lines: Lines | None = None
    error: str | None = None


def decode(landed: LandedFile, content: bytes) -> Decoded:
    """Prepare one file for parsing; a file that cannot be decompressed says why."""
    fingerprint = hashlib.sha256(content).hexdigest()
    try:
        raw = gzip.decompress(content) if landed.compressed else content
    except (OSError, EOFError, zlib.error) as error:
        return Decoded(landed, fingerprint, error=f"{type(error).__name__}: {error}")
    if landed.format == "parquet":
        return Decoded(landed, fingerprint, raw=raw)
    return Decoded(landed, fingerprint, lines=decode_lines(raw))


def decode_lines(raw: bytes) -> Lines:
    """Decode UTF-8 (dropping a BOM); lines that are not valid UTF-8 are marked, not fatal."""
    try:
        text = raw.decode("utf-8")
        invalid: frozenset[int] = frozenset()
    except UnicodeDecodeError:
        decoded, bad = [], set()
        for number, line in enumerate(raw.split(b"\n"), start=1):
            try:
                decoded.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(line.decode("utf-8", errors="replace"))
                bad.add(number)
        text, invalid = "\n".join(decoded), frozenset(bad)
    text = text.removeprefix(BOM)
    return Lines(text=text, invalid=invalid, terminated=text == "" or text.endswith("\n"))


def read_landed_files(entity: Entity, files: list[Decoded]) -> pl.DataFrame:
    """Parse landed files into bronze rows (all but the ingestion timestamp).

    All `.tbl` files are parsed in one vectorized pass, and every file's lineage is joined on at
    once: a run over years of history reads thousands of small files, and per-file overhead would
    dominate.
    """
    tbl = [(i, d) for i, d in enumerate(files) if d.error is None and d.landed.format == "tbl"]
    # every column, even where no file has it (rows are aligned by name)
    frames = [_rows_frame(entity, []).with_columns(pl.lit(None, pl.Int64).alias(FILE_INDEX))]
    if tbl:
        frames.append(parse_tbl(entity, tbl))
    for index, item in enumerate(files):
        if item.error is None and item.landed.format == "tbl":
            continue
        frames.append(
            _parse_one(entity, item).with_columns(pl.lit(index, pl.Int64).alias(FILE_INDEX))
        )
    return _with_lineage(entity, pl.concat(frames, how="diagonal"), files)


def read_landed_file(entity: Entity, landed: LandedFile, content: bytes) -> pl.DataFrame:
    """Parse one landed file into bronze rows (all but the ingestion timestamp)."""
    return read_landed_files(entity, [decode(landed, content)])


def _parse_one(entity: Entity, item: Decoded) -> pl.DataFrame:
    if item.error is not None:
        return _unreadable(entity, item.error)
    if item.lines is not None:
        return parse_csv(entity, item.lines)
    assert item.raw is not None
    try:
        return parse_parquet(entity, item.raw)
    except pl.exceptions.PolarsError as error:
        return _unreadable(entity, f"{type(error).__name__}: {error}")


def _landed_schema(entity: Entity) -> dict[str, pl.DataType]:
    schema = lin.bronze_schema(entity)
    del schema[lin.INGESTED_AT]
    return schema


def _record_columns(entity: Entity) -> list[str]:
    return [*entity.column_names, *lin.CHANGE_COLUMNS]


def _with_lineage(entity: Entity, frame: pl.DataFrame, files: list[Decoded]) -> pl.DataFrame:
    lineage = pl.DataFrame(
        {
            FILE_INDEX: range(len(files)),
            lin.BUSINESS_DATE: [d.landed.business_date for d in files],
            lin.SOURCE_FILE: [d.landed.path for d in files],
            lin.FILE_FINGERPRINT: [d.fingerprint for d in files],
            lin.FILE_LANDED_AT: [d.landed.landed_at for d in files],
        },
        schema_overrides={
            FILE_INDEX: pl.Int64,
            lin.BUSINESS_DATE: pl.Date,
            lin.FILE_LANDED_AT: lin.UTC_TIMESTAMP,
        },
    )
    return frame.join(lineage, on=FILE_INDEX, how="left").select(
        [pl.col(name).cast(dtype) for name, dtype in _landed_schema(entity).items()]
    )


def _unreadable(entity: Entity, message: str) -> pl.DataFrame:
    return _rows_frame(
        entity, [{lin.SOURCE_LINE: 0, lin.LAYOUT_ERROR: UNREADABLE_FILE, lin.RAW_RECORD: message}]
    )


def parse_tbl(entity: Entity, files: list[tuple[int, Decoded]]) -> pl.DataFrame:
    """dbgen layout: fields in TPC-H order, each followed by '|', no header.

    Change data appends `_op|_changed_at|` after the TPC-H fields.
    """
    texts = [d.lines.text if d.lines else "" for _, d in files]
    unterminated = [i for i, d in files if d.lines and not d.lines.terminated]
    invalid = [(i, n) for i, d in files if d.lines for n in sorted(d.lines.invalid)]
    width = len(entity.column_names)
    frame = (
        pl.DataFrame({FILE_INDEX: [i for i, _ in files], "line": texts})
        .with_columns(pl.col(FILE_INDEX).cast(pl.Int64), pl.col("line").str.split("\n"))
        .with_columns(pl.int_ranges(1, pl.col("line").list.len() + 1).alias(lin.SOURCE_LINE))
        .explode(["line", lin.SOURCE_LINE])
        .with_columns(pl.col("line").str.strip_suffix("\r"))
        .filter(pl.col("line").str.strip_chars() != "")
        .with_columns(fields=pl.col("line").str.split(TBL_SEPARATOR))
        .with_columns(count=pl.col("fields").list.len(), last=pl.col("fields").list.last())
    )
    bad = pl.DataFrame(
        invalid, schema={FILE_INDEX: pl.Int64, lin.SOURCE_LINE: pl.Int64}, orient="row"
    ).with_columns(_bad=pl.lit(True))
    frame = frame.join(bad, on=[FILE_INDEX, lin.SOURCE_LINE], how="left")
    fits = (pl.col("last") == "") & pl.col("count").is_in([width + 1, width + 3])
    last_line = pl.col(lin.SOURCE_LINE) == pl.col(lin.SOURCE_LINE).max().over(FILE_INDEX)
    error = (
        pl.when(pl.col("_bad").fill_null(False))
        .then(pl.lit(INVALID_UTF8))
        .when(fits)
        .then(pl.lit(None, pl.String()))
        .when(pl.col(FILE_INDEX).is_in(unterminated) & last_line)
        .then(pl.lit(TRUNCATED_LINE))
        .otherwise(pl.lit(WRONG_FIELD_COUNT))
    )
    has_change = pl.col("count") == width + 3
    ok = pl.col(lin.LAYOUT_ERROR).is_null()
    return frame.with_columns(error.alias(lin.LAYOUT_ERROR)).select(
        FILE_INDEX,
        *[
            pl.when(ok & (has_change | pl.lit(index < width)))
            .then(pl.col("fields").list.get(index, null_on_oob=True))
            .alias(name)
            for index, name in enumerate(_record_columns(entity))
        ],
        pl.col(lin.SOURCE_LINE).cast(pl.Int64),
        lin.LAYOUT_ERROR,
        pl.when(~ok).then(pl.col("line")).alias(lin.RAW_RECORD),
    )


def parse_csv(entity: Entity, lines: Lines) -> pl.DataFrame:
    """CSV with a header of TPC-H names in any order; columns the contract does not know are kept
    as one JSON text column (`_extra_columns`)."""
    records = list(_csv_records(lines.text))
    if not records:
        return _rows_frame(entity, [])
    (_, _, header), body = records[0], records[1:]
    names = [name.strip().lower() for name in header]
    known = set(_record_columns(entity))
    wanted = {name: position for position, name in enumerate(names) if name in known}
    unknown = {name: position for position, name in enumerate(names) if name not in known}
    last_start = body[-1][0] if body else None
    physical: list[str] = []
    rows: list[dict[str, object]] = []
    for start, end, fields in body:
        error = None
        if any(number in lines.invalid for number in range(start, end + 1)):
            error = INVALID_UTF8
        elif len(fields) != len(names):
            truncated = start == last_start and not lines.terminated
            error = TRUNCATED_LINE if truncated else WRONG_FIELD_COUNT
        row: dict[str, object] = {lin.SOURCE_LINE: start, lin.LAYOUT_ERROR: error}
        if error is None:
            row.update({name: fields[position] for name, position in wanted.items()})
            if unknown:
                extra = {name: fields[position] for name, position in unknown.items()}
                row[lin.EXTRA_COLUMNS] = json.dumps(
                    extra, ensure_ascii=False, separators=(",", ":")
                )
        else:
            physical = physical or lines.text.split("\n")
            row[lin.RAW_RECORD] = "\n".join(physical[start - 1 : end]).rstrip("\r")
        rows.append(row)
    return _rows_frame(entity, rows)


def _csv_records(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first line, last line, fields) per non-blank record, keeping physical line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_end = 0
    for fields in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if any(field.strip() for field in fields):
            yield start, reader.line_num, fields


def _rows_frame(entity: Entity, rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = {
        **dict.fromkeys(_record_columns(entity), pl.String()),
        lin.SOURCE_LINE: pl.Int64(),
        lin.LAYOUT_ERROR: pl.String(),
        lin.RAW_RECORD: pl.String(),
        lin.EXTRA_COLUMNS: pl.String(),
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


def parse_parquet(entity: Entity, raw: bytes) -> pl.DataFrame:
    """Parquet with TPC-H column names; values are kept as their text form. Columns the file
    lacks are left out (the rows of all files are aligned by name); columns the contract does not
    know are kept as one JSON text column (`_extra_columns`)."""
    frame = pl.read_parquet(io.BytesIO(raw))
    frame = frame.rename({name: name.strip().lower() for name in frame.columns})
    known = [name for name in _record_columns(entity) if name in frame.columns]
    unknown = [name for name in frame.columns if name not in set(_record_columns(entity))]
    extra = (
        pl.struct(pl.col(unknown).cast(pl.String)).struct.json_encode()
        if unknown
        else pl.lit(None, pl.String)
    )
    return frame.select(
        *[pl.col(name).cast(pl.String) for name in known],
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(lin.SOURCE_LINE),
        pl.lit(None, pl.String).alias(lin.LAYOUT_ERROR),
        pl.lit(None, pl.String).alias(lin.RAW_RECORD),
        extra.alias(lin.EXTRA_COLUMNS),
    )
