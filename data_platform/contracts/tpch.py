"""The eight TPC-H entities as the source systems deliver them (TPC-H specification, clause 1.4)."""

from __future__ import annotations

from data_platform.contracts.model import Column, ColumnKind, Entity

ID = ColumnKind.IDENTIFIER
INT = ColumnKind.INTEGER
DEC = ColumnKind.DECIMAL
DATE = ColumnKind.DATE
TEXT = ColumnKind.TEXT


def _columns(*specs: tuple[str, ColumnKind, str]) -> tuple[Column, ...]:
    return tuple(Column(name, kind, description) for name, kind, description in specs)


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
        ("p_retailprice", DEC, "Retail price."),
        ("p_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("p_partkey",),
)

SUPPLIER = Entity(
    name="supplier",
    description="Suppliers parts are bought from.",
    columns=_columns(
        ("s_suppkey", ID, "Supplier identifier."),
        ("s_name", TEXT, "Supplier name."),
        ("s_address", TEXT, "Address."),
        ("s_nationkey", ID, "Nation the supplier is located in."),
        ("s_phone", TEXT, "Phone number."),
        ("s_acctbal", DEC, "Account balance."),
        ("s_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("s_suppkey",),
)

PARTSUPP = Entity(
    name="partsupp",
    description="Which supplier offers which part, with stock and cost.",
    columns=_columns(
        ("ps_partkey", ID, "Part offered."),
        ("ps_suppkey", ID, "Supplier offering it."),
        ("ps_availqty", INT, "Quantity available."),
        ("ps_supplycost", DEC, "Supply cost per unit."),
        ("ps_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("ps_partkey", "ps_suppkey"),
)

CUSTOMER = Entity(
    name="customer",
    description="Customers who place orders.",
    columns=_columns(
        ("c_custkey", ID, "Customer identifier."),
        ("c_name", TEXT, "Customer name."),
        ("c_address", TEXT, "Address."),
        ("c_nationkey", ID, "Nation the customer is located in."),
        ("c_phone", TEXT, "Phone number."),
        ("c_acctbal", DEC, "Account balance."),
        ("c_mktsegment", TEXT, "Market segment, e.g. BUILDING."),
        ("c_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("c_custkey",),
)

ORDERS = Entity(
    name="orders",
    description="Customer orders, landed daily by order date.",
    columns=_columns(
        ("o_orderkey", ID, "Order identifier."),
        ("o_custkey", ID, "Customer who placed the order."),
        ("o_orderstatus", TEXT, "F (fulfilled), O (open) or P (partially fulfilled)."),
        ("o_totalprice", DEC, "Total price of the order."),
        ("o_orderdate", DATE, "Date the order was placed."),
        ("o_orderpriority", TEXT, "Priority, e.g. 1-URGENT."),
        ("o_clerk", TEXT, "Clerk who took the order."),
        ("o_shippriority", INT, "Shipping priority."),
        ("o_comment", TEXT, "Free-text comment."),
    ),
    primary_key=("o_orderkey",),
    partitioned=True,
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
        ("l_extendedprice", DEC, "Quantity times the part's retail price."),
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
