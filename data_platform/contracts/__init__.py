"""Entity contracts: the single declaration of every landed entity's columns, types and keys."""

from data_platform.contracts.model import Column, ColumnKind, Entity, Orphans, Reference
from data_platform.contracts.tpch import ENTITIES, entity_named

__all__ = ["ENTITIES", "Column", "ColumnKind", "Entity", "Orphans", "Reference", "entity_named"]
