"""Erasure: a customer's values are gone from every file of every layer, old versions included,
the other customers are as they were, the audit says what went, and the platform rebuilds."""

import datetime as dt
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from data_platform import settings
from data_platform.catalog.keys import gold_key, lake_keys
from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from data_platform.contracts.history import HISTORY_ENTITIES
from data_platform.jobs.erasure import erasure_job, history_key, subject_id
from data_platform.resources.landing_zone import LandingZone
from data_platform.simulate.oracle import pseudonym
from tests.assets.test_gold_privacy import build_reports
from tests.conftest import (
    Landing,
    materialize_layers,
    platform_resources,
    read_table,
    tbl_line,
    tbl_orders,
)

DAY, EARLIER = "1995-01-01", "1994-12-01"
SALT = settings.LOCAL_DEFAULTS[settings.PSEUDONYM_SALT]
ADA = ["Ada Lovelace", "12 Analytical Row", "17-555-0100", "17-555-0999", "17-555-0123"]
CUSTOMERS = (
    "1|Ada Lovelace|12 Analytical Row|7|17-555-0100|10.00|BUILDING|c|\n"
    "2|Émilie du Châtelet|3 Rue de Cirey|8|18-555-0101|20.00|MACHINERY|c|\n"
    # an account balance out of range: quarantined, with every landed value
    "3|Grace Hopper|1 Cobol Way|8|18-555-0199|99999.99|BUILDING|c|\n"
)
# a correction of Ada's phone, and a cut-off line of hers: quarantined with its raw text
UPDATE = (
    "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment,_op\n"
    "1,Ada Lovelace,12 Analytical Row,7,17-555-0123,10.00,BUILDING,new phone,U\n"
    "2,Émilie du Châtelet,3 Rue de Cirey,8,18-555-0101,25.00,MACHINERY,c,U\n"
    ",Ada Lovelace,12 Analytical Row\n"
)


@dataclass(frozen=True)
class Erased:
    root: Path
    resources: dict[str, object]
    before: dict[str, pl.DataFrame]
    result: dg.ExecuteInProcessResult


def build_gold(assets: list[dg.AssetsDefinition], resources: dict[str, object]) -> None:
    daily = gold_key("daily_revenue_by_nation")
    marts = [a for a in assets if daily in a.keys]
    assert dg.materialize(marts, resources=resources, partition_key=DAY, selection=[daily]).success
    assert build_reports(assets, resources).success


def build_dimension(
    assets: list[dg.AssetsDefinition], resources: dict[str, object], name: str
) -> None:
    """Bronze, silver and quarantine of a dimension, and its history if it keeps one."""
    entity = entity_named(name)
    keys = {*lake_keys(entity)}
    if entity in HISTORY_ENTITIES:
        keys.add(history_key(entity))
    selected = [a for a in assets if keys & set(a.keys)]
    assert dg.materialize(selected, resources=resources, selection=sorted(keys)).success


def build_customers(assets: list[dg.AssetsDefinition], resources: dict[str, object]) -> None:
    build_dimension(assets, resources, "customer")


def gold(root: Path, mart: str) -> pl.DataFrame:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        return connection.sql(f"select * from gold.{mart}").pl()


def lake_without_read_times(root: Path, layer: str) -> pl.DataFrame:
    return read_table(root / "lake", layer, "customer").drop(lin.INGESTED_AT)


@pytest.fixture(scope="module")
def erased(
    platform_assets: list[dg.AssetsDefinition], tmp_path_factory: pytest.TempPathFactory
) -> Erased:
    root = tmp_path_factory.mktemp("erasure")
    landing = Landing(root / "landing")
    resources = platform_resources(root)
    landing.drop(f"region/{DAY}/region.tbl", "2|ASIA|c|\n3|EUROPE|c|\n")
    landing.drop(f"nation/{DAY}/nation.tbl", "7|GERMANY|3|c|\n8|INDIA|2|c|\n")
    # an old extract, moved to the archive by retention
    old = pl.DataFrame(
        {"c_custkey": [1, 2], "c_name": [ADA[0], "Émilie du Châtelet"]},
    ).with_columns(
        c_address=pl.Series([ADA[1], "3 Rue de Cirey"]),
        c_nationkey=pl.Series([7, 8]),
        c_phone=pl.Series([ADA[3], "18-555-0101"]),
        c_acctbal=pl.Series(["1.00", "2.00"]),
        c_mktsegment=pl.lit("BUILDING"),
        c_comment=pl.lit("old"),
    )
    buffer = io.BytesIO()
    old.write_parquet(buffer)
    landing.drop(f"customer/{EARLIER}/old.parquet", buffer.getvalue())
    zone = LandingZone(url=str(root / "landing"))
    zone.archive(
        [f for f in zone.scan(["customer"]).files if f.business_date.isoformat() == EARLIER]
    )
    landing.drop(f"customer/{DAY}/customer.tbl", CUSTOMERS)
    landing.drop(
        "supplier/1995-01-01/supplier.tbl", "1|Babbage Ltd|5 Difference St|7|17-5|1.00|c|\n"
    )
    landing.drop(
        f"orders/{DAY}/orders.tbl",
        tbl_orders(10, day=DAY, customer=1) + tbl_orders(11, day=DAY, customer=2),
    )
    landing.drop(f"lineitem/{DAY}/lines.tbl", f"{tbl_line(10, DAY)}\n{tbl_line(11, DAY)}\n")
    for entity in ("region", "nation", "customer", "supplier"):
        build_dimension(platform_assets, resources, entity)
    for entity in ("orders", "lineitem"):
        materialize_layers(platform_assets, resources, entity, DAY)
    # a second customer version: the first stays in the tables' history
    landing.drop(f"customer/{DAY}/update.csv.gz", gzip.compress(UPDATE.encode()))
    build_customers(platform_assets, resources)
    build_gold(platform_assets, resources)
    before = {
        "silver": lake_without_read_times(root, "silver"),
        "quarantine": lake_without_read_times(root, "quarantine"),
        "bronze": lake_without_read_times(root, "bronze"),
        "customer_lifetime_value": gold(root, "customer_lifetime_value"),
        "daily_revenue_by_nation": gold(root, "daily_revenue_by_nation"),
    }
    assert sorted(before["silver"]["c_phone"].to_list()) == ["17-555-0123", "18-555-0101"]
    assert before["quarantine"]["_raw_record"].drop_nulls().str.contains(ADA[0]).any()

    result = erasure_job.execute_in_process(
        resources={k: resources[k] for k in ("landing_zone", "lake", "warehouse")},
        run_config={
            "ops": {"erase_customers": {"config": {"customer_keys": [1], "ticket": "DPO-7"}}}
        },
    )
    assert result.success
    return Erased(root, resources, before, result)


def texts_of(path: Path) -> list[str]:
    """What a file holds, readable: a parquet file's values (its pages are compressed), a
    gzip file's content, else the bytes as text."""
    content = path.read_bytes()
    if path.name.endswith(".parquet"):
        return [str(row) for row in pq.read_table(path).to_pylist()]
    if path.name.endswith(".gz"):
        content = gzip.decompress(content)
    return [content.decode("utf-8", errors="replace")]


def test_the_customers_values_are_in_no_file_of_any_layer_nor_of_any_old_version(
    erased: Erased,
) -> None:
    files = [path for path in erased.root.rglob("*") if path.is_file()]
    assert any("_delta_log" in str(path) for path in files)
    assert any(path.name.endswith(".parquet") for path in files)
    found = {
        str(path.relative_to(erased.root)): value
        for path in files
        for text in texts_of(path)
        for value in [*ADA, pseudonym(SALT, ADA[0])]
        if value in text
    }
    assert found == {}
    with duckdb.connect(str(erased.root / "warehouse.duckdb"), read_only=True) as connection:
        assert (
            connection.sql(
                "select * from gold.customer_lifetime_value where c_custkey = 1"
            ).fetchall()
            == []
        )


def test_other_customers_are_as_they_were(erased: Erased) -> None:
    before, root = erased.before, erased.root
    for layer in ("silver", "quarantine"):
        others = before[layer].filter(~pl.col("c_custkey").cast(pl.String).is_in(["1", ""]))
        after = lake_without_read_times(root, layer)
        assert after.sort(lin.SOURCE_FILE, lin.SOURCE_LINE).equals(
            others.filter(
                pl.col(lin.REASON if layer == "quarantine" else "c_custkey").is_not_null()
            ).sort(lin.SOURCE_FILE, lin.SOURCE_LINE)
        )
    clv = before["customer_lifetime_value"].filter(pl.col("c_custkey") != 1)
    assert gold(root, "customer_lifetime_value").equals(clv)
    assert set(lake_without_read_times(root, "bronze")["c_name"].drop_nulls()) == {
        "Émilie du Châtelet",
        "Grace Hopper",
    }


def test_the_audit_records_each_dataset_by_a_keyed_hash_of_the_customer(erased: Erased) -> None:
    audit = pl.read_delta(str(erased.root / "lake" / "governance" / "erasure_audit"))
    assert set(audit["subject"]) == {subject_id(SALT, 1)}
    assert set(audit["ticket"]) == {"DPO-7"}
    assert set(audit["run_id"]) == {erased.result.run_id}
    erased_rows = dict(audit.select("dataset", "rows_erased").iter_rows())
    # Ada's lines: one in the tbl, two in the csv (the update, the cut-off line), one in parquet
    assert erased_rows["landing/customer"] == 4
    assert erased_rows["bronze/customer"] == 4
    assert erased_rows["silver/customer"] == 1
    assert erased_rows["quarantine/customer"] == 1
    assert erased_rows["gold/customer_lifetime_value"] == 1
    assert erased_rows["silver/customer_history"] >= 1
    landing = audit.filter(pl.col("dataset") == "landing/customer").row(0, named=True)
    assert (landing["files_rewritten"], landing["files_removed"]) == (3, 0)
    assert audit.filter(pl.col("dataset") == "silver/customer")["files_removed"].item() > 0
    assert audit["erased_at"].max() <= dt.datetime.now(dt.UTC)


def test_rewritten_files_keep_their_landing_time_and_rebuild_the_erased_tables(
    platform_assets: list[dg.AssetsDefinition], erased: Erased
) -> None:
    root = erased.root
    erased_tables = {layer: lake_without_read_times(root, layer) for layer in ("silver", "bronze")}
    landing = sorted(
        str(p.relative_to(root / "landing"))
        for p in (root / "landing").rglob("*")
        if p.is_file() and "customer" in str(p)
    )
    assert landing == [
        "_archive/customer/1994-12-01/old.parquet",
        "_archive/customer/1995-01-01/customer.tbl",
        "_archive/customer/1995-01-01/update.csv.gz",
        "_archive/customer/_landed_at.json",
    ]
    build_customers(platform_assets, erased.resources)
    rebuilt = lake_without_read_times(root, "bronze")
    # a text file keeps its line numbers; the parquet file's rows after Ada's moved up
    unchanged = [c for c in rebuilt.columns if c not in (lin.FILE_FINGERPRINT, lin.SOURCE_LINE)]
    in_order = [lin.SOURCE_FILE, "c_custkey", "c_phone"]
    assert (
        rebuilt.select(unchanged)
        .sort(in_order)
        .equals(erased_tables["bronze"].select(unchanged).sort(in_order))
    )
    text = pl.col(lin.SOURCE_FILE).str.ends_with(".parquet").not_()
    assert (
        rebuilt.filter(text)
        .drop(lin.FILE_FINGERPRINT)
        .sort(in_order)
        .equals(erased_tables["bronze"].filter(text).drop(lin.FILE_FINGERPRINT).sort(in_order))
    )
    silver = lake_without_read_times(root, "silver")
    assert silver.equals(erased_tables["silver"])

    build_gold(platform_assets, erased.resources)

    assert gold(root, "customer_lifetime_value").equals(
        erased.before["customer_lifetime_value"].filter(pl.col("c_custkey") != 1)
    )
    # Ada's order stays in silver, but without its customer it has no nation in gold
    assert gold(root, "daily_revenue_by_nation").equals(
        erased.before["daily_revenue_by_nation"].filter(pl.col("nation") != "GERMANY")
    )
    assert sorted(read_table(root / "lake", "silver", "orders")["o_custkey"].to_list()) == [1, 2]
