"""The eight TPC-H entities as the source systems deliver them (TPC-H specification, clause 1.4)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from data_platform.contracts.lineage import BUSINESS_DATE
from data_platform.contracts.model import (
    Classification,
    Column,
    ColumnKind,
    Entity,
    GoldTreatment,
    Orphans,
    Reference,
    Rule,
)

ID = ColumnKind.IDENTIFIER
INT = ColumnKind.INTEGER
DEC = ColumnKind.DECIMAL
DATE = ColumnKind.DATE
TEXT = ColumnKind.TEXT

# A column's classification and, for personal data, what gold carries instead (unmarked: public).
# Names get a pseudonym, so a person stays one row, joinable, in every mart; addresses and phone
# numbers are masked: nothing in gold needs them told apart.
Sensitivity = tuple[Classification, GoldTreatment | None]
PSEUDONYMIZED: Sensitivity = (Classification.PII, GoldTreatment.PSEUDONYM)
MASKED: Sensitivity = (Classification.PII, GoldTreatment.MASK)
MONEY: Sensitivity = (Classification.FINANCIAL, None)


ORDER_DATE = pl.col(BUSINESS_DATE)  # the landing folder of orders and lineitem


def _days(column: str, low: int, high: int, since: pl.Expr = ORDER_DATE) -> pl.Expr:
    """`column` falls `low` to `high` days after `since`, as TPC-H generates it (clause 4.2.3)."""
    offset = (pl.col(column) - since).dt.total_days()
    return offset.is_between(low, high)


def _within(column: str, low: object, high: object) -> pl.Expr:
    return pl.col(column).is_between(pl.lit(low), pl.lit(high))


def _one_of(column: str, *values: str) -> pl.Expr:
    return pl.col(column).is_in(values)


def _columns(
    *specs: tuple[str, ColumnKind, str] | tuple[str, ColumnKind, str, Sensitivity],
) -> tuple[Column, ...]:
    columns = []
    for name, kind, description, *sensitivity in specs:
        classification, treatment = sensitivity[0] if sensitivity else (Classification.PUBLIC, None)
        columns.append(Column(name, kind, description, classification, treatment))
    return tuple(columns)


REGION = Entity(
    name="region",
    description="The five world regions nations belong to.",
    columns=_columns(
        ("r_regionkey", ID, "Region identifier."),
        ("r_name", TEXT, "Region name, e.g. ASIA."),
        ("r_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("r_regionkey",),
)

NATION = Entity(
    name="nation",
    description="The 25 nations customers and suppliers are located in.",
    columns=_columns(
        ("n_nationkey", ID, "Nation identifier."),
        ("n_name", TEXT, "Nation name, e.g. GERMANY."),
        ("n_regionkey", ID, "Region the nation belongs to."),
        ("n_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("n_nationkey",),
    references=(Reference(("n_regionkey",), "region", ("r_regionkey",), Orphans.ERROR),),
)

PART = Entity(
    name="part",
    description="Parts the company sells.",
    columns=_columns(
        ("p_partkey", ID, "Part identifier."),
        ("p_name", TEXT, "Part name."),
        ("p_mfgr", TEXT, "Manufacturer."),
        ("p_brand", TEXT, "Brand."),
        ("p_type", TEXT, "Part type, e.g. ECONOMY ANODIZED STEEL."),
        ("p_size", INT, "Size."),
        ("p_container", TEXT, "Container, e.g. SM BOX."),
        ("p_retailprice", DEC, "Retail price.", MONEY),
        ("p_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("p_partkey",),
    rules=(
        Rule("p_size_in_range", "p_size is 1 to 50", _within("p_size", 1, 50)),
        Rule("p_retailprice_positive", "p_retailprice is above 0", pl.col("p_retailprice") > 0),
    ),
)

SUPPLIER = Entity(
    name="supplier",
    description="Suppliers parts are bought from.",
    columns=_columns(
        ("s_suppkey", ID, "Supplier identifier."),
        ("s_name", TEXT, "Supplier name.", PSEUDONYMIZED),
        ("s_address", TEXT, "Address.", MASKED),
        ("s_nationkey", ID, "Nation the supplier is located in."),
        ("s_phone", TEXT, "Phone number.", MASKED),
        ("s_acctbal", DEC, "Account balance.", MONEY),
        ("s_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("s_suppkey",),
    references=(Reference(("s_nationkey",), "nation", ("n_nationkey",), Orphans.ERROR),),
    rules=(
        Rule(
            "s_acctbal_in_range",
            "s_acctbal is -999.99 to 9999.99",
            _within("s_acctbal", Decimal("-999.99"), Decimal("9999.99")),
        ),
    ),
)

PARTSUPP = Entity(
    name="partsupp",
    description="Which supplier offers which part, with stock and cost.",
    columns=_columns(
        ("ps_partkey", ID, "Part offered."),
        ("ps_suppkey", ID, "Supplier offering it."),
        ("ps_availqty", INT, "Quantity available."),
        ("ps_supplycost", DEC, "Supply cost per unit.", MONEY),
        ("ps_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("ps_partkey", "ps_suppkey"),
    references=(
        Reference(("ps_partkey",), "part", ("p_partkey",), Orphans.ERROR),
        Reference(("ps_suppkey",), "supplier", ("s_suppkey",), Orphans.ERROR),
    ),
    rules=(
        Rule("ps_availqty_in_range", "ps_availqty is 1 to 9999", _within("ps_availqty", 1, 9999)),
        Rule(
            "ps_supplycost_in_range",
            "ps_supplycost is 1.00 to 1000.00",
            _within("ps_supplycost", Decimal("1.00"), Decimal("1000.00")),
        ),
    ),
)

CUSTOMER = Entity(
    name="customer",
    description="Customers who place orders.",
    columns=_columns(
        ("c_custkey", ID, "Customer identifier."),
        ("c_name", TEXT, "Customer name.", PSEUDONYMIZED),
        ("c_address", TEXT, "Address.", MASKED),
        ("c_nationkey", ID, "Nation the customer is located in."),
        ("c_phone", TEXT, "Phone number.", MASKED),
        ("c_acctbal", DEC, "Account balance.", MONEY),
        ("c_mktsegment", TEXT, "Market segment, e.g. BUILDING."),
        ("c_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("c_custkey",),
    references=(Reference(("c_nationkey",), "nation", ("n_nationkey",), Orphans.ERROR),),
    rules=(
        Rule(
            "c_acctbal_in_range",
            "c_acctbal is -999.99 to 9999.99",
            _within("c_acctbal", Decimal("-999.99"), Decimal("9999.99")),
        ),
        Rule(
            "c_mktsegment_known",
            "c_mktsegment is a TPC-H market segment",
            _one_of(
                "c_mktsegment", "AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"
            ),
        ),
    ),
)

ORDERS = Entity(
    name="orders",
    description="Customer orders, landed daily by order date.",
    columns=_columns(
        ("o_orderkey", ID, "Order identifier."),
        ("o_custkey", ID, "Customer who placed the order."),
        ("o_orderstatus", TEXT, "F (fulfilled), O (open) or P (partially fulfilled)."),
        ("o_totalprice", DEC, "Total price of the order.", MONEY),
        ("o_orderdate", DATE, "Date the order was placed."),
        ("o_orderpriority", TEXT, "Priority, e.g. 1-URGENT."),
        ("o_clerk", TEXT, "Clerk who took the order.", PSEUDONYMIZED),
        ("o_shippriority", INT, "Shipping priority."),
        ("o_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("o_orderkey",),
    partitioned=True,
    # a new customer's orders may land before the day's customer extract
    references=(Reference(("o_custkey",), "customer", ("c_custkey",), Orphans.WAIT),),
    rules=(
        Rule(
            "o_orderdate_is_landing_date",
            "an order lands in the folder of its order date",
            pl.col("o_orderdate") == ORDER_DATE,
        ),
        Rule(
            "o_orderstatus_known",
            "o_orderstatus is F, O or P",
            _one_of("o_orderstatus", "F", "O", "P"),
        ),
        Rule("o_totalprice_positive", "o_totalprice is above 0", pl.col("o_totalprice") > 0),
        Rule(
            "o_orderpriority_known",
            "o_orderpriority is a TPC-H priority",
            _one_of(
                "o_orderpriority", "1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"
            ),
        ),
    ),
)

LINEITEM = Entity(
    name="lineitem",
    description="Order lines, landed daily by the order date of their order.",
    columns=_columns(
        ("l_orderkey", ID, "Order the line belongs to."),
        ("l_partkey", ID, "Part ordered."),
        ("l_suppkey", ID, "Supplier delivering the part."),
        ("l_linenumber", INT, "Line number within the order."),
        ("l_quantity", DEC, "Quantity ordered."),
        ("l_extendedprice", DEC, "Quantity times the part's retail price.", MONEY),
        ("l_discount", DEC, "Discount as a fraction, 0.00 to 0.10."),
        ("l_tax", DEC, "Tax as a fraction, 0.00 to 0.08."),
        ("l_returnflag", TEXT, "R (returned), A (accepted) or N (not yet)."),
        ("l_linestatus", TEXT, "O (open) or F (fulfilled)."),
        ("l_shipdate", DATE, "Date the line shipped."),
        ("l_commitdate", DATE, "Date delivery was committed for."),
        ("l_receiptdate", DATE, "Date the customer received it."),
        ("l_shipinstruct", TEXT, "Shipping instruction."),
        ("l_shipmode", TEXT, "Shipping mode, e.g. AIR."),
        ("l_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("l_orderkey", "l_linenumber"),
    partitioned=True,
    references=(
        # lines may land before their order, and a new supplier's lines before its extract
        Reference(("l_orderkey",), "orders", ("o_orderkey",), Orphans.WAIT),
        Reference(("l_suppkey",), "supplier", ("s_suppkey",), Orphans.WAIT),
    ),
    rules=(
        Rule("l_quantity_positive", "l_quantity is above 0", pl.col("l_quantity") > 0),
        Rule(
            "l_discount_in_range",
            "l_discount is 0.00 to 0.10",
            _within("l_discount", Decimal("0.00"), Decimal("0.10")),
        ),
        Rule(
            "l_tax_in_range",
            "l_tax is 0.00 to 0.08",
            _within("l_tax", Decimal("0.00"), Decimal("0.08")),
        ),
        Rule(
            "l_returnflag_known",
            "l_returnflag is R, A or N",
            _one_of("l_returnflag", "R", "A", "N"),
        ),
        Rule("l_linestatus_known", "l_linestatus is O or F", _one_of("l_linestatus", "O", "F")),
        Rule(
            "l_shipdate_after_orderdate",
            "a line ships 1 to 121 days after its order date",
            _days("l_shipdate", 1, 121),
        ),
        Rule(
            "l_commitdate_in_range",
            "a line is committed 30 to 90 days after its order date",
            _days("l_commitdate", 30, 90),
        ),
        Rule(
            "l_receiptdate_in_range",
            "a line is received 1 to 30 days after it ships",
            _days("l_receiptdate", 1, 30, since=pl.col("l_shipdate")),
        ),
    ),
)

ENTITIES: tuple[Entity, ...] = (
    REGION,
    NATION,
    PART,
    SUPPLIER,
    PARTSUPP,
    CUSTOMER,
    ORDERS,
    LINEITEM,
)


def entity_named(name: str) -> Entity:
    for entity in ENTITIES:
        if entity.name == name:
            return entity
    raise KeyError(f"unknown entity {name!r}; known: {[e.name for e in ENTITIES]}")
