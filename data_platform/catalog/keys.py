"""Asset keys say where data lives: `<layer>/<entity>` in the lake (the IO manager derives the
table path from the key), `gold/<mart>` in the warehouse."""

import dagster as dg

from data_platform.contracts import ENTITIES, Entity
from data_platform.contracts.history import HISTORY_ENTITIES, history_name

LAKE_LAYERS = ("bronze", "silver", "quarantine")
# the landing zone itself: a source asset the landing sensor observes (files, and misfits)
LANDING_ZONE = dg.AssetKey(["landing", "zone"])


def lake_key(layer: str, entity: Entity) -> dg.AssetKey:
    return dg.AssetKey([layer, entity.name])


def gold_key(mart: str) -> dg.AssetKey:
    """A mart of the warehouse (a dbt model of `dbt_project/models/marts`)."""
    return dg.AssetKey(["gold", mart])


def lake_keys(entity: Entity) -> list[dg.AssetKey]:
    """Every lake table an entity has: what landing a file of it rebuilds."""
    return [lake_key(layer, entity) for layer in LAKE_LAYERS]


def history_key(entity: Entity) -> dg.AssetKey:
    """`silver/<entity>_history`: a dimension's every version (`contracts/history.py`), stored
    beside its silver table."""
    return dg.AssetKey(["silver", history_name(entity)])


def lake_table_keys() -> list[dg.AssetKey]:
    """Every table of the lake: each entity's bronze, silver and quarantine, and the dimension
    histories. What the lake's maintenance, retention and restore jobs act on."""
    return [key for entity in ENTITIES for key in lake_keys(entity)] + [
        history_key(entity) for entity in HISTORY_ENTITIES
    ]
