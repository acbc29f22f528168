"""The landing zone: a folder or bucket prefix where source systems drop files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import fsspec
from fsspec.core import url_to_fs
from pydantic import Field

from data_platform.landing.layout import LandedFile, MisfitFile, classify, is_hidden


@dataclass
class LandingScan:
    """What a listing found: files that fit the contract, and files passed over with a reason."""

    files: list[LandedFile] = field(default_factory=list)
    misfits: list[MisfitFile] = field(default_factory=list)


class LandingZone(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Lists and reads landed files on any fsspec filesystem (local disk, S3, ...)."""

    url: str = Field(description="Root of the landing zone: a path or a URL such as s3://bucket/x.")
    storage_options: dict[str, str] = Field(
        default_factory=dict, description="fsspec options, e.g. an S3 endpoint and credentials."
    )

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        filesystem, root = url_to_fs(self.url, **self.storage_options)
        return filesystem, root.rstrip("/")

    def scan(self, entities: Iterable[str], under: str = "") -> LandingScan:
        """Every file below `under` (an entity folder, or the whole zone), classified."""
        filesystem, root = self._fs()
        base = f"{root}/{under}".rstrip("/")
        if not filesystem.exists(base):
            return LandingScan()
        known = frozenset(entities)
        scan = LandingScan()
        listing: dict[str, dict[str, Any]] = filesystem.find(base, detail=True)
        for path, info in sorted(listing.items()):
            relative = path[len(root) :].lstrip("/")
            if is_hidden(relative):
                continue
            found = classify(
                relative,
                size=int(info.get("size") or 0),
                landed_at=_modified_at(filesystem, path, info),
                entities=known,
            )
            if isinstance(found, LandedFile):
                scan.files.append(found)
            else:
                scan.misfits.append(found)
        return scan

    def read_bytes(self, landed: LandedFile) -> bytes:
        filesystem, root = self._fs()
        content: bytes = filesystem.cat_file(f"{root}/{landed.path}")
        return content


def _modified_at(
    filesystem: fsspec.AbstractFileSystem, path: str, info: dict[str, Any]
) -> dt.datetime:
    """When the file landed: local mtime or the object store's LastModified, in UTC."""
    for key in ("mtime", "LastModified", "last_modified", "updated"):
        value = info.get(key)
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    modified: dt.datetime = filesystem.modified(path)
    return modified if modified.tzinfo else modified.replace(tzinfo=dt.UTC)
