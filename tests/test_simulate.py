"""The source-system simulator lands TPC-H in the landing contract."""

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

from data_platform.contracts import ENTITIES
from data_platform.landing.formats import read_landed_file
from data_platform.resources.landing_zone import LandingZone
from data_platform.simulate.__main__ import main
from data_platform.simulate.landing_writer import LandingWriter
from tests.conftest import Bucket, tbl_frame


def test_date_range_with_rotating_formats_and_gzip(tmp_path: Path) -> None:
    code = main(
        [
            "--sf",
            "0.01",
            "--out",
            str(tmp_path),
            "--start",
            "1992-01-01",
            "--end",
            "1992-01-03",
            "--formats",
            "tbl,csv,parquet",
            "--gzip",
        ]
    )
    assert code == 0
    scan = LandingZone(url=str(tmp_path)).scan([e.name for e in ENTITIES])
    assert not scan.misfits
    daily = sorted(
        (f.entity, f.business_date.isoformat(), f.format)
        for f in scan.files
        if f.entity == "orders"
    )
    assert daily == [
        ("orders", "1992-01-01", "tbl"),
        ("orders", "1992-01-02", "csv"),
        ("orders", "1992-01-03", "parquet"),
    ]
    assert all(f.compressed for f in scan.files)
    dimensions = {f.entity for f in scan.files if f.business_date == dt.date(1992, 1, 1)}
    assert dimensions == {e.name for e in ENTITIES}


def test_every_generated_row_reads_back_without_layout_errors(tmp_path: Path) -> None:
    main(
        [
            "--sf",
            "0.01",
            "--out",
            str(tmp_path),
            "--end",
            "1992-01-10",
            "--formats",
            "tbl,csv,parquet",
        ]
    )
    zone = LandingZone(url=str(tmp_path))
    entities = {e.name: e for e in ENTITIES}
    for landed in zone.scan(entities).files:
        frame = read_landed_file(entities[landed.entity], landed, zone.read_bytes(landed))
        assert frame.height > 0
        assert frame["_layout_error"].null_count() == frame.height, landed.path


def test_the_demo_shift_lands_the_newest_order_yesterday_and_names_its_first_date(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "demo.env"
    out = tmp_path / "landing"
    args = ["--sf", "0.01", "--out", str(out), "--newest-order", "yesterday", "--no-dimensions"]

    def yesterday() -> str:
        return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()

    before = yesterday()
    main([*args, "--env-file", str(env_file)])
    folders = sorted(p.name for p in (out / "orders").iterdir())
    assert folders[-1] in {before, yesterday()}  # the run may cross midnight (UTC)
    assert len(folders) == 2401
    assert env_file.read_text() == f"PLATFORM_PARTITIONS_START={folders[0]}\n"
    assert not (out / "customer").exists()
    landed = pl.read_csv(
        next((out / "orders" / folders[-1]).iterdir()), separator="|", has_header=False
    )
    assert landed[:, 4].unique().to_list() == [folders[-1]]


def test_a_frame_landed_again_later_is_byte_for_byte_a_redelivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = LandingWriter(str(tmp_path), compress=True)
    frame = tbl_frame("region", "0|AFRICA|a|\n")
    first = Path(writer.land("region", dt.date(1995, 1, 1), frame, "csv", "first"))
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    again = Path(writer.land("region", dt.date(1995, 1, 1), frame, "csv", "again"))
    assert again.read_bytes() == first.read_bytes()


def test_the_simulator_lands_in_an_s3_bucket(s3_bucket: Bucket) -> None:
    out = s3_bucket.url("landing")
    args = ["--sf", "0.01", "--out", out, "--end", "1992-01-02", "--no-dimensions", "--gzip"]
    assert main(args) == 0
    scan = LandingZone(url=out).scan([e.name for e in ENTITIES])
    assert sorted((f.path, f.compressed) for f in scan.files) == [
        ("lineitem/1992-01-01/lineitem_1992-01-01.tbl.gz", True),
        ("lineitem/1992-01-02/lineitem_1992-01-02.tbl.gz", True),
        ("orders/1992-01-01/orders_1992-01-01.tbl.gz", True),
        ("orders/1992-01-02/orders_1992-01-02.tbl.gz", True),
    ]
    assert s3_bucket.keys() == [f"landing/{f.path}" for f in scan.files]
