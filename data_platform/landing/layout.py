"""Landing paths: `<entity>/<YYYY-MM-DD>/<file name>.<tbl|csv|parquet>[.gz]`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

FORMATS = ("tbl", "csv", "parquet")
COMPRESSION_SUFFIX = ".gz"
# where retention moves landed files past the landing window, in the same layout:
# `_archive/<entity>/<YYYY-MM-DD>/<file>`. Hidden (see `is_hidden`), so the landing sensor and the
# misfit listing pass it by; bronze reads it beside the live folders, so a date can be rebuilt.
ARCHIVE = "_archive"


@dataclass(frozen=True)
class LandedFile:
    """A file that fits the landing contract. `path` is relative to the landing root."""

    path: str
    entity: str
    business_date: dt.date
    format: str
    compressed: bool
    size: int
    landed_at: dt.datetime
    # moved to the archive by retention: `path` stays where it landed, which bronze records
    archived: bool = False

    @property
    def stored_at(self) -> str:
        """Where the file is now, relative to the landing root."""
        return f"{ARCHIVE}/{self.path}" if self.archived else self.path

    @property
    def version(self) -> str:
        """What tells one state of the file from the next: its size and modification time."""
        return f"{self.size}:{self.landed_at.timestamp():.6f}"


@dataclass(frozen=True)
class MisfitFile:
    """A file that does not fit the contract: passed over and reported, never read."""

    path: str
    reason: str


def misfits_frame(misfits: Sequence[MisfitFile]) -> pl.DataFrame:
    """Passed-over files as a table (file, reason), for the UI."""
    return pl.DataFrame(
        {"file": [m.path for m in misfits], "reason": [m.reason for m in misfits]},
        schema={"file": pl.String, "reason": pl.String},
    )


def is_hidden(relative_path: str) -> bool:
    """Names starting with '.' or '_' are writes in progress, markers (`_SUCCESS`) or the
    archive (`_archive/`), not files landing."""
    return any(part.startswith((".", "_")) for part in relative_path.split("/"))


def classify(
    relative_path: str,
    *,
    size: int,
    landed_at: dt.datetime,
    entities: frozenset[str],
) -> LandedFile | MisfitFile:
    parts = relative_path.split("/")
    if len(parts) != 3:
        return MisfitFile(relative_path, "not at <entity>/<YYYY-MM-DD>/<file>")
    entity, folder, name = parts
    if entity not in entities:
        return MisfitFile(relative_path, f"unknown entity {entity!r}")
    business_date = parse_date_folder(folder)
    if business_date is None:
        return MisfitFile(relative_path, f"invalid date folder {folder!r}")
    compressed = name.endswith(COMPRESSION_SUFFIX)
    stem = name.removesuffix(COMPRESSION_SUFFIX) if compressed else name
    extension = stem.rsplit(".", 1)[-1].lower() if "." in stem else ""
    if extension not in FORMATS:
        return MisfitFile(relative_path, f"unknown extension {name!r}")
    return LandedFile(
        path=relative_path,
        entity=entity,
        business_date=business_date,
        format=extension,
        compressed=compressed,
        size=size,
        landed_at=landed_at,
    )


def parse_date_folder(folder: str) -> dt.date | None:
    if len(folder) != 10:
        return None
    try:
        return dt.date.fromisoformat(folder)
    except ValueError:
        return None
