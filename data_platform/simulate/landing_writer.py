"""Write frames as landed files, atomically, under `<entity>/<YYYY-MM-DD>/`, in any format."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from dataclasses import dataclass

import polars as pl
from fsspec.core import url_to_fs

from data_platform.contracts import entity_named


@dataclass(frozen=True)
class LandingWriter:
    root: str
    compress: bool = False

    def land(
        self, entity: str, business_date: dt.date, frame: pl.DataFrame, fmt: str, name: str = ""
    ) -> str:
        """Land one file via a hidden temporary name and a rename, as the contract asks."""
        filesystem, root = url_to_fs(self.root)
        file_name = (name or f"{entity}_{business_date.isoformat()}") + f".{fmt}"
        content = encode(entity, frame, fmt)
        if self.compress:
            file_name += ".gz"
            content = gzip.compress(content, compresslevel=1)
        folder = f"{root.rstrip('/')}/{entity}/{business_date.isoformat()}"
        filesystem.makedirs(folder, exist_ok=True)
        temporary, final = f"{folder}/.{file_name}.tmp", f"{folder}/{file_name}"
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
