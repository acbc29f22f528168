"""What the UI is given to render: typed tables, not text."""

import datetime as dt
from decimal import Decimal

import dagster as dg
import polars as pl

from data_platform.catalog.metadata import records_table


def test_records_table_keeps_numbers_and_empty_cells_and_shows_the_rest_as_text() -> None:
    frame = pl.DataFrame(
        {
            "day": [dt.date(1995, 1, 1), None],
            "rows": [3, None],
            "median": [2.5, 1.0],
            "ok": [True, False],
            "price": [Decimal("1.10"), Decimal("2.00")],
        },
        schema_overrides={"price": pl.Decimal(15, 2)},
    )
    table = records_table(frame)
    assert isinstance(table, dg.TableMetadataValue)
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("day", "string"),
        ("rows", "int"),
        ("median", "float"),
        ("ok", "bool"),
        ("price", "string"),
    ]
    assert [r.data for r in table.records] == [
        {"day": "1995-01-01", "rows": 3, "median": 2.5, "ok": True, "price": "1.10"},
        {"day": None, "rows": None, "median": 1.0, "ok": False, "price": "2.00"},
    ]
