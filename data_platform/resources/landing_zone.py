"""The landing zone: a folder or bucket prefix where source systems drop files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import dagster as dg
import fsspec
from dagster_deltalake import LocalConfig, S3Config
from fsspec.core import url_to_fs
from pydantic import Field, PrivateAttr

from data_platform.landing.layout import ARCHIVE, LandedFile, MisfitFile, classify, is_hidden
from data_platform.resources.object_store import fsspec_options

# in each entity's archive folder: when each archived file landed, by its landing path. A move on
# an object store is a copy, stamped with the time of the move, and landing order decides between
# versions of a row (silver) and between copies of a file; so the time moves with the file.
LANDED_AT = "_landed_at.json"


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

    def scan(
        self, entities: Iterable[str], under: str = "", *, archived: bool = False
    ) -> LandingScan:
        """Every file below `under` (an entity folder, or the whole zone), classified; with
        `archived`, also the files retention moved to the archive, as they landed."""
        known = frozenset(entities)
        scan = LandingScan()
        for relative, size, landed_at in self._files(under):
            found = classify(relative, size=size, landed_at=landed_at, entities=known)
            if isinstance(found, LandedFile):
                scan.files.append(found)
            else:
                scan.misfits.append(found)
        if archived:
            live = {landed.path for landed in scan.files}
            for relative, size, landed_at in self._files(under, archive=True):
                found = classify(relative, size=size, landed_at=landed_at, entities=known)
                # a file landed again under an archived name is its newer version: it is read
                if isinstance(found, LandedFile) and found.path not in live:
                    scan.files.append(replace(found, archived=True))
            scan.files.sort(key=lambda landed: landed.path)
        return scan

    def _files(self, under: str, archive: bool = False) -> Iterator[tuple[str, int, dt.datetime]]:
        """Each visible file below `under` in the zone (or its archive): its path relative to
        that root, its size and when it landed."""
        filesystem, zone = self._fs()
        root = f"{zone}/{ARCHIVE}" if archive else zone
        base = f"{root}/{under}".rstrip("/")
        if not filesystem.exists(base):
            return
        listing: dict[str, dict[str, Any]] = filesystem.find(base, detail=True)
        landed = _archived_landing_times(filesystem, listing) if archive else {}
        for path, info in sorted(listing.items()):
            relative = path[len(root) :].lstrip("/")
            if is_hidden(relative):
                continue
            when = landed.get(relative) or _modified_at(filesystem, path, info)
            yield relative, int(info.get("size") or 0), when

    def archive(self, files: Sequence[LandedFile]) -> list[LandedFile]:
        """Move landed files to the archive, each to `_archive/<its landing path>`, keeping when
        it landed; a date folder left empty is removed."""
        filesystem, root = self._fs()
        moved = []
        for entity in sorted({landed.entity for landed in files}):
            group = [landed for landed in files if landed.entity == entity]
            record = f"{root}/{ARCHIVE}/{entity}/{LANDED_AT}"
            times = _read_json(filesystem, record)
            times.update({landed.path: landed.landed_at.isoformat() for landed in group})
            # the times first: a move cut short leaves a file in place, none without its time
            filesystem.makedirs(record.rsplit("/", 1)[0], exist_ok=True)
            filesystem.pipe_file(record, json.dumps(times, indent=0, sort_keys=True).encode())
            for landed in group:
                target = f"{root}/{ARCHIVE}/{landed.path}"
                filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                filesystem.mv(f"{root}/{landed.path}", target)
                moved.append(replace(landed, archived=True))
            for folder in sorted({f"{root}/{landed.path.rsplit('/', 1)[0]}" for landed in group}):
                # local disk keeps empty folders; an object store has none
                if filesystem.isdir(folder) and not filesystem.ls(folder):
                    filesystem.rmdir(folder)
        return moved

    def read_bytes(self, landed: LandedFile) -> bytes:
        filesystem, root = self._fs()
        try:
            content: bytes = filesystem.cat_file(f"{root}/{landed.stored_at}")
        except FileNotFoundError:
            if landed.archived:
                raise
            # archived by retention since it was listed
            content = filesystem.cat_file(f"{root}/{ARCHIVE}/{landed.path}")
        return content


def _read_json(filesystem: fsspec.AbstractFileSystem, path: str) -> dict[str, str]:
    try:
        found: dict[str, str] = json.loads(filesystem.cat_file(path))
    except FileNotFoundError:
        return {}
    return found


def _archived_landing_times(
    filesystem: fsspec.AbstractFileSystem, listing: dict[str, dict[str, Any]]
) -> dict[str, dt.datetime]:
    """When each archived file landed, from the archive's records among `listing`."""
    times: dict[str, dt.datetime] = {}
    for path in listing:
        if path.rsplit("/", 1)[-1] == LANDED_AT:
            recorded = _read_json(filesystem, path)
            times.update({name: dt.datetime.fromisoformat(at) for name, at in recorded.items()})
    return times


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
