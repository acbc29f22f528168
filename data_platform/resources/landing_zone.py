"""The landing zone: a folder or bucket prefix where source systems drop files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import fsspec
from dagster_deltalake import LocalConfig, S3Config
from fsspec.core import url_to_fs
from pydantic import Field, PrivateAttr

from data_platform.landing.layout import LandedFile, MisfitFile, classify, is_hidden
from data_platform.resources.object_store import fsspec_options


@dataclass
class LandingScan:
    """What a listing found: files that fit the contract, and files passed over with a reason."""

    files: list[LandedFile] = field(default_factory=list)
    misfits: list[MisfitFile] = field(default_factory=list)


class LandingZone(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Lists and reads landed files on any fsspec filesystem (local disk, S3, ...)."""

    url: str = Field(description="Root of the landing zone: a path or a URL such as s3://bucket/x.")
    storage_options: S3Config | LocalConfig = Field(
        default_factory=LocalConfig,
        discriminator="provider",
        description="For an s3:// URL: endpoint, credentials, region (unset: botocore's defaults).",
    )
    read_threads: int = Field(
        default=8, gt=0, description="Files fetched at once (object stores answer in parallel)."
    )
    _filesystem: tuple[fsspec.AbstractFileSystem, str] | None = PrivateAttr(default=None)

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        # The resource's own filesystem, not fsspec's shared instance, so it is configured as this
        # resource is; and it caches no listings: s3fs would serve a cached folder listing to every
        # later scan in the process (the next tick, the next entity's bronze), missing new files.
        if self._filesystem is None:
            filesystem, root = url_to_fs(
                self.url,
                skip_instance_cache=True,
                use_listings_cache=False,
                **fsspec_options(self.storage_options),
            )
            self._filesystem = filesystem, root.rstrip("/")
        return self._filesystem

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
            return _in_utc(value)
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    modified: dt.datetime = filesystem.modified(path)
    return _in_utc(modified)


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """botocore gives LastModified in the machine's zone; a zoneless time is taken as UTC."""
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
