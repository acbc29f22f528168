"""dbt's silver sources, rendered from the entity contracts so dbt never restates them by hand.

`python -m data_platform.contracts.dbt_sources` rewrites the file; a test fails when it is stale.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from data_platform import settings
from data_platform.contracts import history as hist
from data_platform.contracts.model import Classification, Column, Entity
from data_platform.contracts.tpch import ENTITIES

SOURCES_FILE = settings.DBT_PROJECT_DIR / "models" / "staging" / "_silver__sources.yml"
HEADER = (
    "# Generated from data_platform/contracts by `python -m data_platform.contracts.dbt_sources`.\n"
)
# dbt-duckdb reads each silver Delta table with delta_scan; the platform passes the lake's location
# (see data_platform/resources/warehouse.py), the default is for dbt run by hand in its folder.
EXTERNAL_LOCATION = (
    f"delta_scan('{{{{ env_var('{settings.LAKE_DIR}', '../data/lake') }}}}/silver/{{name}}')"
)


def column_meta(column: Column) -> dict[str, str]:
    """The column's classification and, for personal data, the treatment gold gives it (which
    `macros/privacy.sql` reads)."""
    meta = {"classification": column.classification.value}
    if column.gold_treatment is not None:
        meta["gold_treatment"] = column.gold_treatment.value
    return meta


# what DuckDB reads the history's own columns as (Delta's UTC timestamps are TIMESTAMPTZ)
HISTORY_SQL_TYPES = {
    hist.VALID_FROM: "TIMESTAMP WITH TIME ZONE",
    hist.VALID_TO: "TIMESTAMP WITH TIME ZONE",
    hist.IS_CURRENT: "BOOLEAN",
}


def _column(column: Column) -> dict[str, Any]:
    return {
        "name": column.name,
        "description": column.description,
        "data_type": column.kind.sql_type,
        "meta": column_meta(column),
    }


def _table(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "description": entity.description,
        "meta": {"dagster": {"asset_key": ["silver", entity.name]}},
        "columns": [_column(column) for column in entity.columns],
    }


def _history_table(entity: Entity) -> dict[str, Any]:
    """A dimension's history: its columns, and each version's validity interval."""
    name = hist.history_name(entity)
    validity = [
        {
            "name": column,
            "description": hist.DESCRIPTIONS[column],
            "data_type": sql_type,
            "meta": {"classification": Classification.PUBLIC.value},
        }
        for column, sql_type in HISTORY_SQL_TYPES.items()
    ]
    return {
        "name": name,
        "description": hist.history_description(entity),
        "meta": {"dagster": {"asset_key": ["silver", name]}},
        "columns": [_column(column) for column in entity.columns] + validity,
    }


def sources() -> dict[str, Any]:
    return {
        "version": 2,
        "sources": [
            {
                "name": "silver",
                "description": "Typed, deduplicated silver Delta tables written by the platform.",
                "config": {"external_location": EXTERNAL_LOCATION},
                "tables": [_table(entity) for entity in ENTITIES]
                + [_history_table(entity) for entity in hist.HISTORY_ENTITIES],
            }
        ],
    }


def render() -> str:
    body: str = yaml.safe_dump(sources(), sort_keys=False, width=100)
    return HEADER + body


def main() -> int:
    SOURCES_FILE.parent.mkdir(parents=True, exist_ok=True)
    SOURCES_FILE.write_text(render())
    print(f"wrote {SOURCES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
