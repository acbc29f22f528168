"""Write frames as landed files, atomically, under `<entity>/<YYYY-MM-DD>/`, in any format."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from dataclasses import dataclass
from functools import cached_property

import fsspec
import polars as pl
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from data_platform.contracts import entity_named


@dataclass(frozen=True)
class LandingWriter:
    root: str
    compress: bool = False

    @cached_property
    def _filesystem(self) -> tuple[fsspec.AbstractFileSystem, str]:
        """The writer's own filesystem, configured when it first writes (S3: by AWS_* variables)."""
        filesystem, root = url_to_fs(self.root, skip_instance_cache=True)
        return filesystem, root.rstrip("/")

    def land(
        self, entity: str, business_date: dt.date, frame: pl.DataFrame, fmt: str, name: str = ""
    ) -> str:
        """Land one file so that readers see all of it or nothing, as the contract asks."""
        filesystem, root = self._filesystem
        file_name = (name or f"{entity}_{business_date.isoformat()}") + f".{fmt}"
        content = encode(entity, frame, fmt)
        if self.compress:
            file_name += ".gz"
            # no time in the header: the same frame lands as the same bytes (a redelivery)
            content = gzip.compress(content, compresslevel=1, mtime=0)
        folder = f"{root}/{entity}/{business_date.isoformat()}"
        final = f"{folder}/{file_name}"
        if not isinstance(filesystem, LocalFileSystem):
            # an object store shows an object only once its single PUT is complete
            filesystem.pipe_file(final, content)
            return final
        filesystem.makedirs(folder, exist_ok=True)
        temporary = f"{folder}/.{file_name}.tmp"
        filesystem.pipe_file(temporary, content)
        filesystem.mv(temporary, final)
        return final


def encode(entity: str, frame: pl.DataFrame, fmt: str) -> bytes:
    """A frame with TPC-H column names (and optional `_op`, `_changed_at`) as file bytes."""
    columns = [c for c in entity_named(entity).column_names if c in frame.columns]
    change = [c for c in ("_op", "_changed_at") if c in frame.columns]
    frame = frame.select(*columns, *change)
    buffer = io.BytesIO()
    if fmt == "tbl":
        frame.with_columns(pl.lit("").alias("_end")).write_csv(
            buffer, separator="|", include_header=False, quote_style="never"
        )
    elif fmt == "csv":
        frame.write_csv(buffer)
    elif fmt == "parquet":
        frame.write_parquet(buffer)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return buffer.getvalue()
