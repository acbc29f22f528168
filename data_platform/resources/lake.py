"""The Delta lake as a whole: where its tables are, for work that is not an asset's (upkeep)."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import polars as pl
from dagster_deltalake import LocalConfig, S3Config
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pydantic import Field

# Delta's own default of how long log entries are kept (`delta.logRetentionDuration`)
DELTA_LOG_RETENTION = "interval 30 days"


class Lake(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The root the lake IO manager writes under, and its storage options: the same settings,
    in the same shape, as the IO manager's (`data_platform/profiles/common.py` builds both)."""

    root_uri: str = Field(description="Root of the Delta lake (a path or s3:// URL).")
    storage_options: S3Config | LocalConfig = Field(
        default_factory=LocalConfig,
        discriminator="provider",
        description="How to reach the lake's storage (dagster-deltalake's storage config).",
    )

    @property
    def delta_options(self) -> dict[str, str]:
        """The storage options as delta-rs takes them."""
        options = self.storage_options.str_dict()
        options.pop("provider", None)
        return options

    def table_uri(self, key: dg.AssetKey) -> str:
        return "/".join([self.root_uri.rstrip("/"), *key.path])

    def scan(self, key: dg.AssetKey) -> pl.LazyFrame:
        return pl.scan_delta(self.table_uri(key), storage_options=self.delta_options or None)

    def exists(self, key: dg.AssetKey) -> bool:
        # not `DeltaTable.is_deltatable`: on S3 it retries the listing of a table that does not
        # exist yet for minutes (seen against moto) instead of answering no
        return self.version(key) is not None

    def version(self, key: dg.AssetKey) -> int | None:
        """The version readers of the table see now (None: the table does not exist yet)."""
        for _, table in self.tables([key]):
            return table.version()
        return None

    def tables(self, keys: list[dg.AssetKey]) -> Iterator[tuple[dg.AssetKey, DeltaTable]]:
        """The Delta tables of `keys` that exist (a never-materialized asset has none)."""
        for key in keys:
            try:
                yield key, DeltaTable(self.table_uri(key), storage_options=self.delta_options)
            except TableNotFoundError:
                continue

    def purge_history(self, table: DeltaTable) -> list[str]:
        """Delete the files and log entries of every version but the current one, so no earlier
        version can be read (erasure); the data files deleted. Log entries go too: they keep
        the statistics (minimum and maximum values) of the files they added and the predicates
        of deletes. The log's retention is set to zero for the cleanup, then back."""
        removed = table.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
        setting = "delta.logRetentionDuration"
        kept = table.metadata().configuration.get(setting, DELTA_LOG_RETENTION)
        table.alter.set_table_properties({setting: "interval 0 seconds"})
        table.create_checkpoint()
        table.cleanup_metadata()
        table.alter.set_table_properties({setting: kept})
        return list(removed)
