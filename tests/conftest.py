"""Shared fixtures: a landing zone and a lake under the test's own tmp_path, and an S3 bucket."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import polars as pl
import psycopg2
import pytest
from dagster_deltalake import LocalConfig
from dagster_duckdb_polars import DuckDBPolarsIOManager
from moto.server import ThreadedMotoServer

from data_platform import profiles
from data_platform.catalog.keys import history_key, lake_keys
from data_platform.contracts import entity_named
from data_platform.definitions import build_definitions
from data_platform.resources.lake import Lake
from data_platform.resources.lake_io_manager import LakeIOManager
from data_platform.resources.landing_zone import LandingZone
from data_platform.resources.warehouse import Warehouse


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def platform_resources(root: Path) -> dict[str, object]:
    """The platform's resources with every location under `root`: landing/, lake/, a warehouse
    and the quality mart's file."""
    lake = str(root / "lake")
    return {
        **profiles.resources(),
        "landing_zone": LandingZone(url=str(root / "landing")),
        "lake_io_manager": LakeIOManager(root_uri=lake, storage_options=LocalConfig()),
        "lake": Lake(root_uri=lake),
        "warehouse": Warehouse(path=str(root / "warehouse.duckdb"), lake_dir=lake),
        "quality_io_manager": DuckDBPolarsIOManager(database=str(root / "data_quality.duckdb")),
    }


@pytest.fixture
def resources(tmp_path: Path, landing_dir: Path) -> dict[str, object]:
    """The platform's resources, with every location under the test's tmp_path."""
    return platform_resources(tmp_path)


# the lake of a landing sensor built without followers: it never reads it
NO_LAKE = Lake(root_uri="/nonexistent/lake")

S3_REGION = "eu-west-1"


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket on a local S3-compatible server that the AWS_* variables point at."""

    name: str
    endpoint: str

    def url(self, prefix: str) -> str:
        return f"s3://{self.name}/{prefix}"

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=S3_REGION)

    def last_modified(self, key: str) -> dt.datetime:
        modified: dt.datetime = self.client().head_object(Bucket=self.name, Key=key)["LastModified"]
        return modified.astimezone(dt.UTC)

    def keys(self) -> list[str]:
        """Every object's key, in order."""
        listed = self.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A bucket on moto's S3 server, run in this process on 127.0.0.1 and a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", S3_REGION)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")  # delta-rs refuses a plain-HTTP endpoint otherwise
    bucket = Bucket("platform-test", endpoint)
    try:
        bucket.client().create_bucket(
            Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": S3_REGION}
        )
        yield bucket
    finally:
        # moto keeps its buckets in this process, not in the server: forget them for the next test
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        server.stop()


@pytest.fixture
def catalog() -> Iterator[str]:
    """A PostgreSQL database of the test's own (a DuckLake catalog's), dropped afterwards."""
    name = f"test_catalog_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect("dbname=postgres host=127.0.0.1 user=postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"dbname={name} host=127.0.0.1 user=postgres"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


CONFIG = Path(__file__).parents[1] / "config" / "local" / "dagster.yaml"


def local_dagster_home(
    home: Path, monkeypatch: pytest.MonkeyPatch, batch_size: str | None = "100000"
) -> Path:
    """`home` made the DAGSTER_HOME of an instance configured as `make run` configures it
    (`config/local/dagster.yaml`; with `batch_size`, a range's events are written in batches)."""
    home.mkdir(exist_ok=True)
    shutil.copy(CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # "0" turns batching off: unset, the platform would switch it on itself
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size or "0")
    return home


@pytest.fixture
def local_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance of the local profile in the test's own DAGSTER_HOME."""
    local_dagster_home(tmp_path / "dagster_home", monkeypatch)
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture(scope="session")
def platform_assets() -> list[dg.AssetsDefinition]:
    return [a for a in build_definitions().assets if isinstance(a, dg.AssetsDefinition)]


class Landing:
    """Drops files into a test landing zone, with controlled landing times."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()

    def drop(self, relative: str, content: bytes | str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.clock += 60
        os.utime(path, (self.clock, self.clock))
        return path


@pytest.fixture
def landing(landing_dir: Path) -> Landing:
    return Landing(landing_dir)


def materialize_layers(
    assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    entity: str,
    partition: str | None = None,
    *,
    partition_range: tuple[str, str] | None = None,
    run_config: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize bronze, silver and quarantine of one entity (one partition or a range)."""
    selected = layer_assets(assets, entity)
    tags = {}
    if partition_range:
        tags = {
            "dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1],
        }
    result = dg.materialize(
        selected, resources=resources, partition_key=partition, tags=tags, run_config=run_config
    )
    assert result.success
    return result


def read_table(lake_dir: Path, layer: str, entity: str) -> pl.DataFrame:
    return pl.read_delta(str(lake_dir / layer / entity))


def delete_record(entity: str, changed_at: str = "2024-05-01T00:00:00Z", **key: object) -> str:
    """A `.tbl` delete record: only the key columns filled, then `_op` and `_changed_at`."""
    columns = entity_named(entity).column_names
    return "|".join([*(str(key.get(c, "")) for c in columns), "D", changed_at]) + "|\n"


def layer_assets(assets: list[dg.AssetsDefinition], *entities: str) -> list[dg.AssetsDefinition]:
    """The bronze asset and the silver+quarantine multi-asset of each entity, and the history of
    a dimension that keeps one (gold reads it)."""
    keys = {key for name in entities for key in lake_keys(entity_named(name))}
    keys |= {history_key(entity_named(name)) for name in entities}
    return [a for a in assets if keys & set(a.keys)]


def gold_keys(definitions: dg.Definitions, *, daily: bool) -> list[dg.AssetKey]:
    """The gold marts the dbt project defines: the daily-partitioned ones, or the reports."""
    graph = definitions.resolve_asset_graph()
    return sorted(
        node.key
        for node in graph.asset_nodes
        if node.key.path[0] == "gold" and (node.partitions_def is not None) == daily
    )


def tbl_order(
    key: object,
    day: object = "1995-01-01",
    *,
    price: str = "100.00",
    customer: int = 7,
    status: str = "O",
) -> str:
    """A valid TPC-H orders record in `.tbl` layout, without the newline."""
    return f"{key}|{customer}|{status}|{price}|{day}|1-URGENT|Clerk#1|0|c|"


def tbl_orders(
    *keys: int, day: object = "1995-01-01", price: str = "100.00", customer: int = 7
) -> str:
    """Valid orders records, one line each."""
    return "".join(tbl_order(k, day, price=price, customer=customer) + "\n" for k in keys)


def tbl_line(
    order: int, day: object, *, number: int = 1, price: str = "50.00", discount: str = "0.05"
) -> str:
    """A valid TPC-H lineitem record (no newline): shipped 5 days after the order date `day`,
    committed at 40 days, received 3 days after shipping."""
    ordered = dt.date.fromisoformat(str(day))
    ship, commit = ordered + dt.timedelta(days=5), ordered + dt.timedelta(days=40)
    receipt = ship + dt.timedelta(days=3)
    return (
        f"{order}|1|1|{number}|1.00|{price}|{discount}|0.02|N|O|{ship}|{commit}|{receipt}"
        "|NONE|AIR|c|"
    )


def tbl_frame(entity: str, records: str) -> pl.DataFrame:
    """`.tbl` records as a frame of text columns with the contract's names (for a writer)."""
    names = entity_named(entity).column_names
    frame = pl.read_csv(io.StringIO(records), separator="|", has_header=False, infer_schema=False)
    return frame.select(frame.columns[: len(names)]).rename(
        dict(zip(frame.columns, names, strict=False))
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the daemon tests measured (they record how long the platform took, not assert it)."""
    measured = [
        (report.nodeid.split("::")[-1], name, value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
    ]
    if measured:
        terminalreporter.section("platform with its daemon: measured")
        for test, name, value in measured:
            terminalreporter.write_line(f"{name:>30}: {value}  ({test})")
