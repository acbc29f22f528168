"""Erase people: the answer to an erasure request, launched from the UI with the customer keys.

A person is a customer; their personal data is their customer records (name, address, phone,
and the rest of the row). The job removes every record of theirs from every layer, and every copy:

- **Landing**: each landed customer record with their key, and any landed record of any entity
  whose text holds one of their personal values (a record that broke its layout has only its raw
  text), is cut out of its file; a file left without records is removed. A rewritten file is
  stored in the archive with its landing time, as retention stores one (`LandingZone.rewrite`).
- **Lake**: the same records' rows in bronze, silver, its history tables and quarantine, found
  by key, by value and by the file and line they landed at; then the history of every customer
  table and of every table that lost rows is purged: data files of earlier versions and the log
  entries that describe them.
- **Gold**: rows with their customer key or the pseudonym of one of their values; then the
  warehouse keeps no old copy (a DuckDB file is copied afresh, a DuckLake's old snapshots and files
  are removed).

Their orders and line items stay: they carry the customer key, no personal value, and the
business's books need them; without a customer row they drop out of the marts that join one.
What was erased is recorded per person and dataset in the audit table `governance/erasure_audit`
(a Delta table in the lake), the person named by a keyed hash of the key, never by the key.
"""

import datetime as dt
import gzip
import hashlib
import hmac
import io
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from data_platform.catalog.keys import LAKE_LAYERS, history_key, lake_key
from data_platform.catalog.metadata import records_table
from data_platform.contracts import ENTITIES, Entity, entity_named
from data_platform.contracts import lineage as lin
from data_platform.contracts.history import HISTORY_ENTITIES
from data_platform.contracts.model import Classification
from data_platform.landing.formats import UNREADABLE_FILE, read_landed_file
from data_platform.landing.layout import LandedFile
from data_platform.resources.lake import Lake
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.warehouse import CATALOG_ALIAS, Warehouse

CUSTOMER = entity_named("customer")
[CUSTOMER_KEY] = CUSTOMER.primary_key
PERSONAL = [c.name for c in CUSTOMER.columns if c.classification is Classification.PII]
# gold columns that name a customer by key: the key, and the columns referring to it
KEY_COLUMNS = {CUSTOMER_KEY} | {
    column
    for entity in ENTITIES
    for reference in entity.references
    if reference.parent == CUSTOMER.name
    for column in reference.columns
}
AUDIT = dg.AssetKey(["governance", "erasure_audit"])
# shorter values are not searched for in text (they would match unrelated records); a record
# carrying one is still found by its key
MIN_VALUE_CHARS = 4
# lineage columns that hold no landed value
NOT_VALUES = {
    lin.SOURCE_FILE,
    lin.FILE_FINGERPRINT,
    lin.OP,
    lin.CHANGED_AT,
    lin.REASON,
    lin.LAYOUT_ERROR,
}
IN_PROGRESS = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
RECORDS: dict[str, pl.DataType] = {
    "subject": pl.Int64(),
    lin.SOURCE_FILE: pl.String(),
    lin.SOURCE_LINE: pl.Int64(),
}
AUDIT_COLUMNS: dict[str, pl.DataType] = {
    "erased_at": lin.UTC_TIMESTAMP,
    "run_id": pl.String(),
    "ticket": pl.String(),
    "subject": pl.String(),
    "layer": pl.String(),
    "dataset": pl.String(),
    "rows_erased": pl.Int64(),
    "files_rewritten": pl.Int64(),
    "files_removed": pl.Int64(),
}
COUNTS = ("rows_erased", "files_rewritten", "files_removed")
SHOWN = 200

Subjects = Mapping[int, Sequence[str]]


class ErasureConfig(dg.Config):
    customer_keys: list[int] = Field(description="The c_custkey of each person to erase.")
    ticket: str = Field(
        description="The request's reference (e.g. a ticket id), kept in the audit; no personal "
        "data."
    )

    @model_validator(mode="after")
    def _someone(self) -> "ErasureConfig":
        if not self.customer_keys:
            raise ValueError("give at least one customer key")
        if not self.ticket.strip():
            raise ValueError("give the request's reference (ticket)")
        return self


def subject_id(salt: str, customer_key: int) -> str:
    """How the audit names a person: HMAC-SHA256 of the key, keyed by the pseudonym salt (an
    unkeyed hash of a small number is reversed by trying them all)."""
    message = f"{CUSTOMER.name}:{customer_key}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()


def owner(entity: Entity, schema: Mapping[str, pl.DataType], subjects: Subjects) -> pl.Expr:
    """The person (customer key) a row belongs to, or null: a customer row by its key; any other
    row, and a customer row whose key could not be read, by one of their values in its text."""
    text = [name for name, dtype in schema.items() if dtype == pl.String and name not in NOT_VALUES]
    found = [
        pl.when(pl.any_horizontal(pl.col(c).str.contains(value, literal=True) for c in text)).then(
            pl.lit(key, pl.Int64)
        )
        for key, values in subjects.items()
        for value in values
        if text
    ]
    by_value = pl.coalesce(found) if found else pl.lit(None, pl.Int64)
    if entity.name != CUSTOMER.name or CUSTOMER_KEY not in schema:
        return by_value
    key = pl.col(CUSTOMER_KEY)
    if schema[CUSTOMER_KEY] == pl.String:
        key = key.str.strip_chars().cast(pl.Int64, strict=False)
    return pl.when(key.is_in(list(subjects))).then(key).when(key.is_null()).then(by_value)


def personal_values(frames: Sequence[pl.LazyFrame], keys: Sequence[int]) -> dict[int, list[str]]:
    """Each person's personal values in any of `frames` (customer rows with their key)."""
    values: dict[int, set[str]] = {key: set() for key in keys}
    for frame in frames:
        schema = frame.collect_schema()
        key = pl.col(CUSTOMER_KEY)
        if schema[CUSTOMER_KEY] == pl.String:
            key = key.str.strip_chars().cast(pl.Int64, strict=False)
        rows = (
            frame.select(key.alias(CUSTOMER_KEY), *(pl.col(c).cast(pl.String) for c in PERSONAL))
            .filter(pl.col(CUSTOMER_KEY).is_in(list(keys)))
            .collect()
        )
        for row in rows.iter_rows(named=True):
            for name in PERSONAL:
                value = (row[name] or "").strip()
                if len(value) >= MIN_VALUE_CHARS:
                    values[row[CUSTOMER_KEY]].add(value)
    return {key: sorted(found) for key, found in values.items()}


@dataclass(frozen=True)
class FileErasure:
    """A stored landing file and the records of it to erase (first line, and whose)."""

    landed: LandedFile
    content: bytes
    records: pl.DataFrame
    erased: pl.DataFrame


def _decompressed(landed: LandedFile, content: bytes) -> bytes | None:
    try:
        return gzip.decompress(content) if landed.compressed else content
    except (OSError, EOFError, zlib.error):
        return None


def plan_landing(
    zone: LandingZone, stored: Sequence[LandedFile], subjects: Subjects
) -> tuple[list[FileErasure], list[str]]:
    """The stored files holding the people's records, and the files that could not be read."""
    values = [value.encode() for found in subjects.values() for value in found]
    planned, unreadable = [], []
    for landed in stored:
        content = zone.read_bytes(landed)
        raw = _decompressed(landed, content)
        worth = landed.entity == CUSTOMER.name or landed.format == "parquet" or raw is None
        if not worth and not any(value in raw for value in values if raw is not None):
            continue
        entity = entity_named(landed.entity)
        records = read_landed_file(entity, landed, content)
        if (records[lin.LAYOUT_ERROR] == UNREADABLE_FILE).any():
            unreadable.append(landed.stored_at)
            continue
        erased = records.select(
            owner(entity, records.schema, subjects).alias("subject"), lin.SOURCE_LINE
        ).filter(pl.col("subject").is_not_null())
        if erased.height:
            planned.append(FileErasure(landed, content, records, erased))
    return planned, unreadable


def without_records(planned: FileErasure) -> bytes | None:
    """The file without the erased records, as it was otherwise (None: no record is left). A
    text file keeps its line numbers (an erased record's lines are left blank); a parquet file's
    later rows move up."""
    landed = planned.landed
    raw = _decompressed(landed, planned.content)
    assert raw is not None
    starts = sorted(planned.records[lin.SOURCE_LINE].to_list())
    erased = set(planned.erased[lin.SOURCE_LINE].to_list())
    if set(starts) <= erased:
        return None
    if landed.format == "parquet":
        table = pq.read_table(io.BytesIO(raw))
        kept = table.filter(pa.array([row not in erased for row in range(1, table.num_rows + 1)]))
        buffer = io.BytesIO()
        pq.write_table(kept, buffer)
        content = buffer.getvalue()
    else:
        lines = raw.split(b"\n")
        dropped: set[int] = set()
        for start in erased:
            # a record runs to the next one (a CSV record may span lines), blank lines after it
            # excluded
            later = [number for number in starts if number > start]
            end = later[0] - 1 if later else len(lines)
            while end > start and not lines[end - 1].strip():
                end -= 1
            dropped.update(range(start, end + 1))
        # blank lines carry no record but keep their numbers: the other records keep theirs
        content = b"\n".join(b"" if n in dropped else line for n, line in enumerate(lines, 1))
    return gzip.compress(content, mtime=0) if landed.compressed else content


def rewrite_landing(zone: LandingZone, planned: Sequence[FileErasure]) -> pl.DataFrame:
    """Cut the records out of their files; per person and entity, records and files."""
    done = []
    # archived copies first: a live file's new content replaces an archived copy it hid
    for item in sorted(planned, key=lambda p: (not p.landed.archived, p.landed.path)):
        rewritten = zone.rewrite(item.landed, without_records(item))
        for subject, rows in item.erased.group_by("subject"):
            done.append((subject[0], item.landed.entity, rows.height, rewritten is not None))
    frame = pl.DataFrame(
        done,
        schema={"subject": pl.Int64, "entity": pl.String, "rows": pl.Int64, "kept": pl.Boolean},
        orient="row",
    )
    return frame.group_by("subject", "entity").agg(
        rows_erased=pl.col("rows").sum(),
        files_rewritten=pl.col("kept").sum().cast(pl.Int64),
        files_removed=(~pl.col("kept")).sum().cast(pl.Int64),
    )


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rows_predicate(found: pl.DataFrame) -> str:
    """The rows as delta-rs deletes them: by the file and line they landed at, so no personal
    value is written into the table's log."""
    clauses = []
    for (name,), group in found.group_by(lin.SOURCE_FILE):
        lines = ", ".join(str(line) for line in sorted(group[lin.SOURCE_LINE].to_list()))
        clauses.append(f"({lin.SOURCE_FILE} = {_sql_string(str(name))}")
        clauses[-1] += f" AND {lin.SOURCE_LINE} IN ({lines}))"
    return " OR ".join(clauses)


def erase_rows(
    lake: Lake, key: dg.AssetKey, entity: Entity, subjects: Subjects, landed: pl.DataFrame
) -> pl.DataFrame:
    """Delete the people's rows from one lake table, then purge its history if it lost rows or
    is a customer table; per person, the rows deleted and the table's files rewritten and
    removed."""
    found, rewritten, removed = pl.DataFrame(schema=RECORDS), 0, 0
    for _, table in lake.tables([key]):
        scan = lake.scan(key)
        by_owner = scan.select(
            owner(entity, scan.collect_schema(), subjects).alias("subject"),
            lin.SOURCE_FILE,
            lin.SOURCE_LINE,
        ).filter(pl.col("subject").is_not_null())
        by_line = scan.select(lin.SOURCE_FILE, lin.SOURCE_LINE).join(
            landed.lazy(), on=[lin.SOURCE_FILE, lin.SOURCE_LINE]
        )
        found = (
            pl.concat([by_owner, by_line.select(list(RECORDS))])
            .unique([lin.SOURCE_FILE, lin.SOURCE_LINE], keep="first", maintain_order=True)
            .collect()
        )
        if found.height:
            metrics = table.delete(rows_predicate(found))
            if int(metrics["num_deleted_rows"]) != found.height:
                raise dg.Failure(
                    f"{key.to_user_string()}: deleted {metrics['num_deleted_rows']} rows of "
                    f"{found.height} found"
                )
            rewritten = int(metrics["num_added_files"])
        if found.height or entity is CUSTOMER:
            removed = len(lake.purge_history(table))
    return found.group_by("subject").agg(
        rows_erased=pl.len().cast(pl.Int64),
        files_rewritten=pl.lit(rewritten, pl.Int64),
        files_removed=pl.lit(removed, pl.Int64),
    )


def erase_gold(warehouse: Warehouse, subjects: Subjects, log: dg.DagsterLogManager) -> pl.DataFrame:
    """Delete gold's rows of the people, by key or by the pseudonym of one of their values, then
    leave no old copy of them in the warehouse; per person and mart, the rows deleted."""
    erased = []
    with warehouse.writing(log):
        connection = warehouse.connect(read_only=False)
        try:
            # every schema: dbt builds in a working copy before it publishes to `gold`
            columns = connection.execute(
                "select c.table_schema || '.' || c.table_name, c.column_name, c.data_type"
                " from information_schema.columns c join information_schema.tables t"
                " using (table_catalog, table_schema, table_name)"
                " where c.table_catalog = current_database() and t.table_type = 'BASE TABLE'"
                " order by 1, c.ordinal_position"
            ).fetchall()
            for table in sorted({name for name, _, _ in columns}):
                keyed = [c for t, c, _ in columns if t == table and c in KEY_COLUMNS]
                texts = [c for t, c, kind in columns if t == table and kind == "VARCHAR"]
                for key, values in subjects.items():
                    salt = warehouse.pseudonym_salt
                    rows = _delete_from_mart(connection, table, keyed, texts, key, values, salt)
                    erased.append((key, table, rows))
            if warehouse.is_ducklake:
                _forget_ducklake_history(connection, [table for _, table, rows in erased if rows])
            else:
                connection.execute("CHECKPOINT")
        finally:
            connection.close()
        if not warehouse.is_ducklake:
            rebuild_duckdb_file(Path(warehouse.path))
    return pl.DataFrame(
        erased,
        schema={"subject": pl.Int64, "mart": pl.String, "rows_erased": pl.Int64},
        orient="row",
    )


def _delete_from_mart(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    keyed: Sequence[str],
    texts: Sequence[str],
    key: int,
    values: Sequence[str],
    salt: str,
) -> int:
    conditions = [f'"{column}" = ?' for column in keyed]
    parameters: list[object] = [key] * len(keyed)
    if salt:
        # a pseudonym as `macros/privacy.sql` makes it: sha256(salt || value), 16 hex digits
        pseudonym = "left(sha256(? || ?), 16)"
        for column in texts:
            for value in values:
                conditions.append(f'"{column}" = {pseudonym}')
                parameters += [salt, value]
    if not conditions:
        return 0
    row = connection.execute(
        f"delete from {_quoted(table)} where {' or '.join(conditions)}", parameters
    ).fetchone()
    return int(row[0]) if row else 0


def _quoted(table: str) -> str:
    """`schema.table` as a quoted name."""
    return ".".join(f'"{part}"' for part in table.split(".", 1))


def _forget_ducklake_history(connection: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> None:
    """A DuckLake keeps deleted rows in their data files (beside a delete file) and every
    snapshot's files: rewrite the files, then expire every snapshot but the current one."""
    for table in sorted(set(tables)):
        schema, name = table.split(".", 1)
        connection.execute(
            f"call ducklake_rewrite_data_files('{CATALOG_ALIAS}', {_sql_string(name)},"
            f" schema => {_sql_string(schema)}, delete_threshold => 0)"
        )
    connection.execute(f"call ducklake_expire_snapshots('{CATALOG_ALIAS}', older_than => now())")
    connection.execute(f"call ducklake_cleanup_old_files('{CATALOG_ALIAS}', cleanup_all => true)")


def rebuild_duckdb_file(path: Path) -> None:
    """Copy the warehouse into a fresh file and put it in place: a DuckDB file keeps the blocks
    of deleted rows and replaced tables until they are reused, so their bytes stay in it."""
    fresh = path.with_name(f"{path.name}.erasure")
    fresh.unlink(missing_ok=True)
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"attach {_sql_string(str(path))} as source (read_only)")
        connection.execute(f"attach {_sql_string(str(fresh))} as fresh")
        connection.execute("copy from database source to fresh")
    fresh.replace(path)


def lake_tables() -> Iterator[tuple[dg.AssetKey, Entity]]:
    """Every lake table with its entity but bronze's customers; the customer's own last: they
    hold the people's values, so a run that fails half way and is launched again still finds
    them (bronze's customers go after the landing zone, the last)."""
    for entity in ENTITIES:
        if entity is not CUSTOMER:
            yield from ((lake_key(layer, entity), entity) for layer in LAKE_LAYERS)
    for entity in HISTORY_ENTITIES:
        yield history_key(entity), entity
    yield lake_key("quarantine", CUSTOMER), CUSTOMER
    yield lake_key("silver", CUSTOMER), CUSTOMER


def _others_running(context: dg.OpExecutionContext) -> list[str]:
    runs = context.instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS))
    return sorted(run.run_id for run in runs if run.run_id != context.run_id)


@dataclass
class Audit:
    """What the run erased, per person and dataset: the audit table's rows."""

    run_id: str
    ticket: str
    salt: str
    keys: Sequence[int]
    erased_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    rows: list[tuple[object, ...]] = field(default_factory=list)

    def add(self, layer: str, dataset: str, erased: pl.DataFrame) -> None:
        """A row per person for `dataset` (zeros where nothing of theirs was found)."""
        counts = {row["subject"]: row for row in erased.iter_rows(named=True)}
        for key in self.keys:
            found = counts.get(key, {})
            self.rows.append(
                (
                    self.erased_at,
                    self.run_id,
                    self.ticket,
                    subject_id(self.salt, key),
                    layer,
                    dataset,
                    *(int(found.get(name) or 0) for name in COUNTS),
                )
            )

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=AUDIT_COLUMNS, orient="row")

    def write(self, lake: Lake) -> None:
        """Merge the rows into the audit table, keyed by run, person and dataset."""
        frame, uri = self.frame(), lake.table_uri(AUDIT)
        options = lake.delta_options or None
        if not lake.exists(AUDIT):
            frame.write_delta(uri, storage_options=options)
            return
        frame.write_delta(
            uri,
            mode="merge",
            storage_options=options,
            delta_merge_options={
                "predicate": "t.run_id = s.run_id AND t.subject = s.subject"
                " AND t.dataset = s.dataset",
                "source_alias": "s",
                "target_alias": "t",
            },
        ).when_matched_update_all().when_not_matched_insert_all().execute()


def landed_records(planned: Sequence[FileErasure]) -> pl.DataFrame:
    """The landed records to erase, by the file and line bronze records them with."""
    frames = [
        p.erased.select("subject", pl.lit(p.landed.path).alias(lin.SOURCE_FILE), lin.SOURCE_LINE)
        for p in planned
    ]
    return pl.concat([pl.DataFrame(schema=RECORDS), *frames])


def erase_everywhere(
    context: dg.OpExecutionContext,
    landing_zone: LandingZone,
    lake: Lake,
    warehouse: Warehouse,
    audit: Audit,
) -> list[str]:
    """Erase the people from every layer, adding to `audit` as each dataset is done; the
    landed files that could not be read."""
    stored = landing_zone.stored([entity.name for entity in ENTITIES])
    sources = [
        read_landed_file(CUSTOMER, landed, landing_zone.read_bytes(landed)).lazy()
        for landed in stored
        if landed.entity == CUSTOMER.name
    ]
    customer_tables = [lake_key(layer, CUSTOMER) for layer in LAKE_LAYERS]
    customer_tables.append(history_key(CUSTOMER))
    sources += [lake.scan(key) for key, _ in lake.tables(customer_tables)]
    subjects = personal_values(sources, audit.keys)
    planned, unreadable = plan_landing(landing_zone, stored, subjects)
    landed = landed_records(planned)
    for (mart,), rows in erase_gold(warehouse, subjects, context.log).group_by("mart"):
        audit.add("gold", str(mart).replace(".", "/"), rows)
    for key, entity in lake_tables():
        erased = erase_rows(lake, key, entity, subjects, landed)
        if erased.height or entity is CUSTOMER:
            audit.add(key.path[0], key.to_user_string(), erased)
    by_entity = rewrite_landing(landing_zone, planned)
    for entity in sorted({CUSTOMER.name, *by_entity["entity"].to_list()}):
        audit.add("landing", f"landing/{entity}", by_entity.filter(pl.col("entity") == entity))
    bronze = lake_key("bronze", CUSTOMER)
    erased = erase_rows(lake, bronze, CUSTOMER, subjects, landed)
    audit.add("bronze", bronze.to_user_string(), erased)
    return unreadable


@dg.op(
    description="Erase customers from the landing zone, bronze, silver, quarantine and gold, "
    "and from their history; record what was erased in governance/erasure_audit."
)
def erase_customers(
    context: dg.OpExecutionContext,
    config: ErasureConfig,
    landing_zone: LandingZone,
    lake: Lake,
    warehouse: Warehouse,
) -> dg.Output[int]:
    # one step: the people's values pass between the layers in memory, never through storage
    running = _others_running(context)
    if running:
        raise dg.Failure(
            f"other runs are in progress ({', '.join(running)}): turn the sensors and schedules "
            "off, let the runs finish, then launch the erasure again"
        )
    if not warehouse.pseudonym_salt:
        raise dg.Failure("no pseudonym salt: set PLATFORM_PSEUDONYM_SALT (the audit keys by it)")
    keys = sorted(set(config.customer_keys))
    audit = Audit(context.run_id, config.ticket, warehouse.pseudonym_salt, keys)
    try:
        unreadable = erase_everywhere(context, landing_zone, lake, warehouse, audit)
    finally:
        # what was done is recorded, also when a later layer failed
        audit.write(lake)
    for name in unreadable:
        context.log.warning(f"could not read {name}: look for the people in it by hand")
    summary = (
        audit.frame()
        .group_by("layer", "dataset", maintain_order=True)
        .agg(pl.col(name).sum() for name in COUNTS)
    )
    erased = int(summary["rows_erased"].sum())
    context.log.info(f"erased {erased} rows of {len(keys)} customers (ticket {config.ticket})")
    unread = pl.DataFrame({"file": unreadable}, schema={"file": pl.String})
    return dg.Output(
        erased,
        metadata={
            "customers": dg.MetadataValue.int(len(keys)),
            "rows_erased": dg.MetadataValue.int(erased),
            "datasets": records_table(summary),
            "unreadable_files": records_table(unread.head(SHOWN)),
        },
    )


@dg.job(
    description="Erase customers from every layer and its history (Launchpad: their keys and "
    "the request's ticket); audited in governance/erasure_audit."
)
def erasure_job() -> None:
    erase_customers()
