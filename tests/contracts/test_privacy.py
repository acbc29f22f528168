"""Every column is classified in its contract; the UI, dbt and gold's pseudonyms follow it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_platform import settings
from data_platform.assets.gold import dbt_project, manifest_path
from data_platform.catalog.keys import lake_keys
from data_platform.contracts import ENTITIES, ColumnKind
from data_platform.contracts.model import Classification, Column, GoldTreatment
from data_platform.definitions import build_definitions
from data_platform.resources.dbt_privacy import SALT_VARIABLE, Plugin
from data_platform.resources.warehouse import PSEUDONYM_SALT_VARIABLE, Warehouse
from data_platform.simulate.oracle import expected, pseudonym

PII = Classification.PII


def classified(classification: Classification) -> dict[str, GoldTreatment | None]:
    return {
        column.name: column.gold_treatment
        for entity in ENTITIES
        for column in entity.columns
        if column.classification is classification
    }


def test_names_addresses_and_phones_are_personal_and_each_has_its_gold_treatment() -> None:
    pseudonym_, mask = GoldTreatment.PSEUDONYM, GoldTreatment.MASK
    assert classified(PII) == {
        "s_name": pseudonym_,
        "s_address": mask,
        "s_phone": mask,
        "c_name": pseudonym_,
        "c_address": mask,
        "c_phone": mask,
        "o_clerk": pseudonym_,
    }
    assert set(classified(Classification.FINANCIAL)) == {
        "p_retailprice",
        "s_acctbal",
        "ps_supplycost",
        "c_acctbal",
        "o_totalprice",
        "l_extendedprice",
    }


@pytest.mark.parametrize(
    ("classification", "treatment"),
    [(PII, None), (Classification.PUBLIC, GoldTreatment.MASK)],
)
def test_a_treatment_is_declared_for_personal_data_and_only_for_it(
    classification: Classification, treatment: GoldTreatment | None
) -> None:
    with pytest.raises(ValueError, match="a pii column, and only a pii column, has a treatment"):
        Column("x", ColumnKind.TEXT, "A column.", classification, treatment)


def test_bronze_silver_and_quarantine_tag_each_column_with_its_classification() -> None:
    graph = build_definitions().resolve_asset_graph()
    for entity in ENTITIES:
        for key in lake_keys(entity):
            schema = graph.get(key).metadata["dagster/column_schema"]
            tags = {c.name: c.tags.get("classification") for c in schema.columns}
            for column in entity.columns:
                assert tags.pop(column.name) == column.classification.value, (key, column.name)
            # what landed as it came is as sensitive as the entity's most sensitive column
            for raw in ("_raw_record", "_detail"):
                assert tags.pop(raw, entity.sensitivity.value) == entity.sensitivity.value, key
            # columns the contract does not know may hold anything
            assert tags.pop("_extra_columns", "pii") == "pii", key
            assert set(tags.values()) == {"public"}, key
    customer = graph.get(dg.AssetKey(["silver", "customer"])).metadata["dagster/column_schema"]
    assert {c.name: c.tags for c in customer.columns}["c_phone"] == {"classification": "pii"}


def test_dbt_sources_carry_each_columns_classification_and_gold_treatment_as_meta() -> None:
    sources = json.loads(manifest_path(dbt_project()).read_text())["sources"]
    for entity in ENTITIES:
        columns = sources[f"source.data_platform.silver.{entity.name}"]["columns"]
        for column in entity.columns:
            meta = {"classification": column.classification.value}
            if column.gold_treatment:
                meta["gold_treatment"] = column.gold_treatment.value
            assert columns[column.name]["meta"] == meta, column.name


def test_a_pseudonym_is_the_same_for_the_same_value_and_salt_and_differs_with_the_salt() -> None:
    name = "Customer#000000001"
    assert pseudonym("salt", name) == pseudonym("salt", name)
    assert pseudonym("salt", name) != pseudonym("another salt", name)
    assert pseudonym("salt", name) != pseudonym("salt", "Customer#000000002")
    assert len(pseudonym("salt", name)) == 16
    assert int(pseudonym("salt", name), 16) >= 0


def test_dbt_macros_pseudonymize_and_mask_as_the_oracle_expects(tmp_path: Path) -> None:
    """`macros/privacy.sql`, run by dbt with the salt handed over by the profile's plugin."""
    warehouse = Warehouse(
        path=str(tmp_path / "warehouse.duckdb"),
        lake_dir=str(tmp_path / "lake"),
        pseudonym_salt="s3cr3t salt",
    )
    sql = (
        "select {{ pseudonym(\"'Ada Lovelace'\") }} as named,"
        " {{ mask(\"'17-555-0100, Rue de Cirey 3'\") }} as masked"
    )
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "show",
            "--inline",
            sql,
            "--output",
            "json",
            "--log-format",
            "json",
            "--profiles-dir",
            str(settings.DBT_PROJECT_DIR),
        ],
        cwd=settings.DBT_PROJECT_DIR,
        env={
            **os.environ,
            **warehouse.dbt_environment(),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    (shown,) = [
        json.loads(event["data"]["preview"])
        for event in map(json.loads, completed.stdout.splitlines())
        if event["info"]["name"] == "ShowNode"
    ]
    assert shown == [
        {"named": pseudonym("s3cr3t salt", "Ada Lovelace"), "masked": "**-***-****, *** ** ***** *"}
    ]


def test_the_plugin_gives_every_connection_and_cursor_the_salt() -> None:
    plugin = Plugin(name="dbt_privacy", plugin_config={"salt": "s3cr3t"})
    with duckdb.connect() as connection:
        plugin.configure_connection(connection)
        cursor = connection.cursor()
        plugin.configure_cursor(cursor)
        for each in (connection, cursor):
            assert each.sql(f"select getvariable('{SALT_VARIABLE}')").fetchone() == ("s3cr3t",)


def test_dbt_is_given_the_salt_only_under_a_name_it_keeps_secret() -> None:
    environment = Warehouse(path="w.duckdb", lake_dir="lake", pseudonym_salt="s").dbt_environment()
    assert PSEUDONYM_SALT_VARIABLE.startswith("DBT_ENV_SECRET_")
    assert environment[PSEUDONYM_SALT_VARIABLE] == "s"
    assert settings.PSEUDONYM_SALT not in environment


@pytest.mark.parametrize(
    ("profile", "salt", "built_with"),
    [
        ("local", None, settings.LOCAL_DEFAULTS[settings.PSEUDONYM_SALT]),
        ("local", "a local secret", "a local secret"),
        # no default: building a mart that carries a pseudonym then fails
        ("production", None, ""),
        ("production", "a production secret", "a production secret"),
    ],
)
def test_each_profile_takes_the_salt_from_the_environment(
    profile: str, salt: str | None, built_with: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.PROFILE, profile)
    for name in (settings.LANDING_DIR, settings.LAKE_DIR, settings.GOLD_DATA_PATH):
        monkeypatch.setenv(name, f"s3://platform/{name.lower()}/")
    if salt is None:
        monkeypatch.delenv(settings.PSEUDONYM_SALT, raising=False)
    else:
        monkeypatch.setenv(settings.PSEUDONYM_SALT, salt)
    definitions = build_definitions()
    with dg.build_resources({"warehouse": definitions.resources["warehouse"]}) as built:
        assert built.warehouse.dbt_environment()[PSEUDONYM_SALT_VARIABLE] == built_with


def test_the_oracle_names_each_customer_by_the_pseudonym_of_the_salt_it_is_given() -> None:
    columns, rows = expected(0.01, pseudonym_salt="oracle salt")["customer_lifetime_value"]
    first = dict(zip(columns, rows[0], strict=True))
    assert (first["c_custkey"], first["c_name"]) == (
        "1",
        pseudonym("oracle salt", "Customer#000000001"),
    )
