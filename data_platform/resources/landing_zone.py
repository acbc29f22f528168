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
# how long a file on a filesystem must be quiet before it counts as landed: a writer that does not
# rename shows it half-written. An object store shows an object only once its PUT is complete.
FILESYSTEM_SETTLE_SECONDS = 2.0
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az"})


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
    settle_seconds: float | None = Field(
        default=None,
        ge=0,
        description=(
            "How long a file must stay unchanged (size and modification time) before the landing"
            " sensor takes it as landed. Unset: 2 s on a filesystem, 0 on an object store."
        ),
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

    def settle_period(self) -> float:
        """Seconds a file must be quiet before it counts as landed (`settle_seconds`)."""
        if self.settle_seconds is not None:
            return self.settle_seconds
        protocol = self._fs()[0].protocol
        protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        return 0.0 if protocols & OBJECT_STORES else FILESYSTEM_SETTLE_SECONDS

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

    def stored(self, entities: Iterable[str]) -> list[LandedFile]:
        """Every stored copy of every landed file: the live ones and all archived ones, also an
        archived copy that a file landed again under its name hides from `scan`."""
        known = frozenset(entities)
        stored = []
        for archive in (False, True):
            for relative, size, landed_at in self._files("", archive=archive):
                found = classify(relative, size=size, landed_at=landed_at, entities=known)
                if isinstance(found, LandedFile):
                    stored.append(replace(found, archived=archive))
        return stored

    def rewrite(self, landed: LandedFile, content: bytes | None) -> LandedFile | None:
        """Replace a stored file's content, or remove it (`content` None), keeping when it
        landed: landing order decides between versions of a row, and an object store stamps a
        rewritten object with the time of the write. So new content goes where retention puts a
        file, `_archive/<its landing path>`, with its landing time beside it, and the live copy
        goes (an archived copy it hid, never read, is replaced). Bronze reads it as before."""
        filesystem, root = self._fs()
        record = f"{root}/{ARCHIVE}/{landed.entity}/{LANDED_AT}"
        target = f"{root}/{ARCHIVE}/{landed.path}"
        times = _read_json(filesystem, record)
        if content is None:
            times.pop(landed.path, None)
        else:
            times[landed.path] = landed.landed_at.isoformat()
        # the time first: a rewrite cut short leaves no file without its time
        filesystem.makedirs(record.rsplit("/", 1)[0], exist_ok=True)
        filesystem.pipe_file(record, json.dumps(times, indent=0, sort_keys=True).encode())
        if content is not None:
            filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            filesystem.pipe_file(target, content)
        elif landed.archived:
            filesystem.rm_file(target)
        if not landed.archived:
            filesystem.rm_file(f"{root}/{landed.path}")
        folder = f"{root}/{landed.stored_at.rsplit('/', 1)[0]}"
        # local disk keeps empty folders; an object store has none
        if filesystem.isdir(folder) and not filesystem.ls(folder):
            filesystem.rmdir(folder)
        if content is None:
            return None
        return replace(landed, archived=True, size=len(content))

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
