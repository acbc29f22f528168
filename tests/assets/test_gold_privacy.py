"""Personal data reaches gold only as the contract treats it; bronze, silver and quarantine keep
what landed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_platform import settings
from data_platform.assets.gold import dbt_project, manifest_path
from data_platform.catalog.keys import gold_key
from data_platform.contracts import ENTITIES
from data_platform.contracts.history import silver_tables
from data_platform.contracts.model import Classification
from data_platform.definitions import build_definitions
from data_platform.resources.warehouse import Warehouse
from data_platform.simulate.oracle import pseudonym
from tests.conftest import (
    Landing,
    gold_keys,
    materialize_layers,
    platform_resources,
    read_table,
    tbl_line,
    tbl_orders,
)

DAY = "1995-01-01"
SALT = settings.LOCAL_DEFAULTS[settings.PSEUDONYM_SALT]
CUSTOMERS = (
    "1|Ada Lovelace|12 Analytical Row, London|7|17-555-0100|10.00|BUILDING|c|\n"
    "2|Émilie du Châtelet|3 Rue de Cirey|8|18-555-0101|20.00|MACHINERY|c|\n"
    # an account balance out of range: quarantined, with every landed value
    "3|Grace Hopper|1 Cobol Way|8|18-555-0199|99999.99|BUILDING|c|\n"
)
SUPPLIERS = "1|Babbage Engines Ltd|5 Difference St|7|17-555-0111|100.00|c|\n"


@dataclass(frozen=True)
class Built:
    """A small platform built from landed personal data up to every gold mart."""

    root: Path
    resources: dict[str, object]
    # the runs that built gold: the daily mart's day, then the reports
    runs: tuple[dg.ExecuteInProcessResult, ...]

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"


def build_reports(
    assets: list[dg.AssetsDefinition], resources: dict[str, object]
) -> dg.ExecuteInProcessResult:
    """The gold marts that are not daily (customer_lifetime_value among them)."""
    reports = gold_keys(build_definitions(), daily=False)
    gold = [a for a in assets if set(reports) & set(a.keys)]
    return dg.materialize(gold, resources=resources, selection=reports)


@pytest.fixture(scope="module")
def built(
    platform_assets: list[dg.AssetsDefinition], tmp_path_factory: pytest.TempPathFactory
) -> Built:
    root = tmp_path_factory.mktemp("privacy")
    landing = Landing(root / "landing")
    landing.drop(f"region/{DAY}/region.tbl", "2|ASIA|c|\n3|EUROPE|c|\n")
    landing.drop(f"nation/{DAY}/nation.tbl", "7|GERMANY|3|c|\n8|INDIA|2|c|\n")
    landing.drop(f"customer/{DAY}/customer.tbl", CUSTOMERS)
    landing.drop(f"supplier/{DAY}/supplier.tbl", SUPPLIERS)
    landing.drop(
        f"orders/{DAY}/orders.tbl",
        tbl_orders(10, day=DAY, customer=1) + tbl_orders(11, day=DAY, customer=2),
    )
    landing.drop(f"lineitem/{DAY}/lines.tbl", f"{tbl_line(10, DAY)}\n{tbl_line(11, DAY)}\n")
    resources = platform_resources(root)
    for entity in ("region", "nation", "customer", "supplier"):
        materialize_layers(platform_assets, resources, entity)
    for entity in ("orders", "lineitem"):
        materialize_layers(platform_assets, resources, entity, DAY)
    daily = gold_key("daily_revenue_by_nation")
    marts = [a for a in platform_assets if daily in a.keys]
    day = dg.materialize(marts, resources=resources, partition_key=DAY, selection=[daily])
    reports = build_reports(platform_assets, resources)
    assert day.success
    assert reports.success
    return Built(root, resources, (day, reports))


def gold_values(warehouse: Path) -> dict[tuple[str, str], set[str]]:
    """Every gold table's columns, each with its values as text."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        columns = connection.sql(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'gold'"
        ).fetchall()
        return {
            (table, column): {
                str(value)
                for (value,) in connection.sql(f'select "{column}" from gold.{table}').fetchall()
            }
            for table, column in columns
        }


def personal_values(lake: Path, layer: str) -> set[str]:
    """Every value of a `pii` column in a layer's tables."""
    found: set[str] = set()
    for entity in ENTITIES:
        names = [c.name for c in entity.columns if c.classification is Classification.PII]
        if names and (lake / layer / entity.name).exists():
            table = read_table(lake, layer, entity.name).select(names)
            found |= {v for name in names for v in table[name].drop_nulls().to_list()}
    return found


def test_gold_holds_no_personal_value_of_silver(built: Built) -> None:
    personal = personal_values(built.lake, "silver")
    assert {"Ada Lovelace", "17-555-0100", "Babbage Engines Ltd", "Clerk#1"} <= personal
    in_gold = gold_values(built.warehouse)
    assert {t for t, _ in in_gold} == {
        "daily_revenue_by_nation",
        "pricing_summary",
        "local_supplier_volume",
        "customer_lifetime_value",
    }
    leaks = {column: values & personal for column, values in in_gold.items() if values & personal}
    assert leaks == {}


def test_gold_names_a_customer_by_a_pseudonym_keyed_by_the_salt(built: Built) -> None:
    with duckdb.connect(str(built.warehouse), read_only=True) as connection:
        names = connection.sql(
            "select c_name from gold.customer_lifetime_value order by c_custkey"
        ).fetchall()
    assert names == [
        (pseudonym(SALT, "Ada Lovelace"),),
        (pseudonym(SALT, "Émilie du Châtelet"),),
    ]


def build_lifetime_value(
    built: Built, assets: list[dg.AssetsDefinition], salt: str, warehouse: str
) -> dg.ExecuteInProcessResult:
    """customer_lifetime_value built from the same silver into another warehouse file."""
    mart = gold_key("customer_lifetime_value")
    other = Warehouse(
        path=str(built.root / warehouse), lake_dir=str(built.lake), pseudonym_salt=salt
    )
    return dg.materialize(
        [a for a in assets if mart in a.keys],
        resources={**built.resources, "warehouse": other},
        selection=[mart],
        raise_on_error=False,
    )


def names(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        table = connection.sql("select c_name from gold.customer_lifetime_value order by c_custkey")
        return [name for (name,) in table.fetchall()]


def test_a_rebuild_keeps_each_pseudonym_and_another_salt_changes_every_one(
    built: Built, platform_assets: list[dg.AssetsDefinition]
) -> None:
    first = names(built.warehouse)
    assert build_lifetime_value(built, platform_assets, SALT, "rebuilt.duckdb").success
    assert names(built.root / "rebuilt.duckdb") == first
    assert build_lifetime_value(built, platform_assets, "another salt", "resalted.duckdb").success
    assert not set(names(built.root / "resalted.duckdb")) & set(first)


def test_a_build_without_a_salt_fails_and_says_which_setting_is_missing(
    built: Built, platform_assets: list[dg.AssetsDefinition]
) -> None:
    result = build_lifetime_value(built, platform_assets, "", "unsalted.duckdb")
    assert not result.get_asset_materialization_events()
    failure = result.failure_data_for_node("gold_marts")
    assert failure is not None
    assert failure.error is not None
    assert "no pseudonym salt: set PLATFORM_PSEUDONYM_SALT" in failure.error.to_string()


def test_the_salt_is_in_no_file_dbt_or_the_warehouse_keeps(built: Built) -> None:
    kept = [built.warehouse, *(p for p in (built.root / "warehouse.dbt").rglob("*") if p.is_file())]
    assert len(kept) > 10
    assert [p for p in kept if SALT.encode() in p.read_bytes()] == []


def test_bronze_silver_and_quarantine_keep_the_landed_personal_values(built: Built) -> None:
    assert {"Ada Lovelace", "12 Analytical Row, London"} <= personal_values(built.lake, "bronze")
    assert {"Ada Lovelace", "17-555-0100", "Clerk#1"} <= personal_values(built.lake, "silver")
    quarantined = read_table(built.lake, "quarantine", "customer")
    assert quarantined.select("_reason", "c_name", "c_phone").rows() == [
        ("c_acctbal_in_range", "Grace Hopper", "18-555-0199")
    ]


def test_each_gold_column_is_classified_as_the_most_sensitive_column_it_is_computed_from(
    built: Built,
) -> None:
    """Column lineage (from the SQL dbt ran) against the marts' dbt column meta."""
    nodes = json.loads(manifest_path(dbt_project()).read_text())["nodes"]
    events = [e for run in built.runs for e in run.get_asset_materialization_events()]
    assert len(events) == 4
    for event in events:
        mart = event.asset_key.path[-1]
        lineage = event.materialization.metadata["dagster/column_lineage"]
        assert isinstance(lineage, dg.TableColumnLineageMetadataValue)
        declared = nodes[f"model.data_platform.{mart}"]["columns"]
        for column, deps in lineage.value.deps_by_column.items():
            # a dimension's history has its entity's columns
            tables = silver_tables()
            sources = [tables[d.asset_key.path[-1]][0].column(d.column_name) for d in deps]
            most = max(
                [Classification.PUBLIC, *(s.classification for s in sources)], key=lambda c: c.rank
            )
            meta = declared[column]["meta"]
            assert meta.get("classification", "public") == most.value, (mart, column)
            treatments = {s.gold_treatment.value for s in sources if s.gold_treatment}
            assert set(meta.get("gold_treatment", "").split()) == treatments, (mart, column)
