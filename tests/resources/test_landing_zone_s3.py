"""The landing zone on S3 (a local S3-compatible server) scans and reads as a local folder does."""

import dataclasses
import datetime as dt
import gzip
from pathlib import Path

import polars as pl
from fsspec.core import url_to_fs

from data_platform.contracts import ENTITIES, entity_named
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import read_landed_file
from data_platform.landing.layout import LandedFile
from data_platform.resources.landing_zone import LandingZone
from data_platform.simulate.landing_writer import LandingWriter, encode
from tests.conftest import Bucket, tbl_frame, tbl_orders

NAMES = [e.name for e in ENTITIES]
DAY, NEXT_DAY = dt.date(1995, 1, 1), dt.date(1995, 1, 2)
REGIONS = "0|AFRICA|a|\n1|AMERICA|b|\n"


class Files:
    """Writes bytes as they are under a landing root, as another source system would."""

    def __init__(self, root: str) -> None:
        self.filesystem, path = url_to_fs(root, skip_instance_cache=True)
        self.root = path.rstrip("/")

    def put(self, relative: str, content: bytes) -> None:
        target = f"{self.root}/{relative}"
        self.filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.filesystem.pipe_file(target, content)


def land_sample(root: str) -> None:
    """Every format, gzip, a write in progress, a marker and files off the contract."""
    writer, files = LandingWriter(root), Files(root)
    writer.land("orders", DAY, tbl_frame("orders", tbl_orders(1, 2)), "tbl")
    writer.land("region", DAY, tbl_frame("region", REGIONS), "parquet")
    next_day = encode("orders", tbl_frame("orders", tbl_orders(3, day=NEXT_DAY)), "csv")
    files.put("orders/1995-01-02/orders.csv.gz", gzip.compress(next_day, mtime=0))
    files.put("orders/1995-01-01/.late.tbl.tmp", tbl_orders(4).encode())
    files.put("orders/1995-01-01/_SUCCESS", b"")
    files.put("orders/1995-01-01/notes.xlsx", b"x")
    files.put("orders/1995-13-01/a.tbl", tbl_orders(5).encode())
    files.put("invoices/1995-01-01/a.tbl", b"x")
    files.put("README.md", b"x")


def untimed(files: list[LandedFile]) -> list[LandedFile]:
    return [dataclasses.replace(f, landed_at=dt.datetime.min) for f in files]


def test_an_s3_landing_zone_scans_like_a_local_folder(s3_bucket: Bucket, tmp_path: Path) -> None:
    local, remote = str(tmp_path), s3_bucket.url("landing")
    land_sample(local)
    land_sample(remote)
    here = LandingZone(url=local).scan(NAMES)
    there = LandingZone(url=remote).scan(NAMES)
    assert [(f.path, f.format, f.compressed) for f in there.files] == [
        ("orders/1995-01-01/orders_1995-01-01.tbl", "tbl", False),
        ("orders/1995-01-02/orders.csv.gz", "csv", True),
        ("region/1995-01-01/region_1995-01-01.parquet", "parquet", False),
    ]
    assert untimed(there.files) == untimed(here.files)
    assert [(m.path, m.reason) for m in there.misfits] == [
        ("README.md", "not at <entity>/<YYYY-MM-DD>/<file>"),
        ("invoices/1995-01-01/a.tbl", "unknown entity 'invoices'"),
        ("orders/1995-01-01/notes.xlsx", "unknown extension 'notes.xlsx'"),
        ("orders/1995-13-01/a.tbl", "invalid date folder '1995-13-01'"),
    ]
    assert there.misfits == here.misfits
    assert [f.landed_at for f in there.files] == [
        s3_bucket.last_modified(f"landing/{f.path}") for f in there.files
    ]
    assert all(f.landed_at.tzinfo is dt.UTC for f in there.files)


def test_files_read_from_s3_become_the_same_bronze_rows(s3_bucket: Bucket, tmp_path: Path) -> None:
    local, remote = LandingZone(url=str(tmp_path)), LandingZone(url=s3_bucket.url("landing"))
    land_sample(local.url)
    land_sample(remote.url)

    def rows(zone: LandingZone) -> list[pl.DataFrame]:
        return [
            read_landed_file(entity_named(f.entity), f, zone.read_bytes(f)).drop(lin.FILE_LANDED_AT)
            for f in zone.scan(NAMES).files
        ]

    there = rows(remote)
    assert [(frame.height, frame[lin.LAYOUT_ERROR].null_count()) for frame in there] == [
        (2, 2),
        (1, 1),
        (2, 2),
    ]
    assert all(a.equals(b) for a, b in zip(there, rows(local), strict=True))
    assert there[0]["o_orderkey"].to_list() == ["1", "2"]


def test_a_scan_sees_what_another_system_landed_since_the_previous_one(s3_bucket: Bucket) -> None:
    zone = LandingZone(url=s3_bucket.url("landing"))
    source = Files(zone.url)
    source.put("README.md", b"a file at the zone's root: listed with the root's folder")
    assert [m.path for m in zone.scan(NAMES).misfits] == ["README.md"]
    source.put("orders/1995-01-01/a.tbl", tbl_orders(1).encode())
    assert [f.path for f in zone.scan(NAMES, under="orders").files] == ["orders/1995-01-01/a.tbl"]
    source.put("orders/1995-01-01/b.tbl", tbl_orders(2).encode())
    assert [f.path for f in zone.scan(NAMES, under="orders").files] == [
        "orders/1995-01-01/a.tbl",
        "orders/1995-01-01/b.tbl",
    ]
    assert len(zone.scan(NAMES).files) == 2
