"""The local profile backed up and restored into a fresh folder gives the same gold, lake,
landing zone and Dagster instance (`python -m deploy.backup`)."""

from pathlib import Path

import dagster as dg
import pytest

from data_platform import settings
from deploy.backup import main as backup
from tests.assets.test_gold import build_day, daily_revenue, land_two_days
from tests.conftest import Landing, local_dagster_home, platform_resources, read_table


def point_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.LANDING_DIR, str(root / "landing"))
    monkeypatch.setenv(settings.LAKE_DIR, str(root / "lake"))
    monkeypatch.setenv(settings.WAREHOUSE_PATH, str(root / "warehouse.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))


def test_a_backup_restored_into_a_fresh_folder_gives_the_same_platform(
    platform_assets: list[dg.AssetsDefinition],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    land_two_days(Landing(live / "landing"))
    resources = platform_resources(live)
    local_dagster_home(live / "dagster_home", monkeypatch)
    with dg.DagsterInstance.get() as instance:
        for day in ("1995-01-01", "1995-01-02"):
            build_day(platform_assets, resources, day)
        recorded = dg.materialize(
            [a for a in platform_assets if dg.AssetKey(["bronze", "orders"]) in a.keys],
            resources=resources,
            instance=instance,
            partition_key="1995-01-01",
        )
        assert recorded.success
    gold = daily_revenue(live / "warehouse.duckdb")
    silver = read_table(live / "lake", "silver", "orders").sort("o_orderkey")

    point_at(live, monkeypatch)
    assert backup(["create", str(tmp_path / "backup")]) == 0
    point_at(fresh, monkeypatch)
    assert backup(["restore", str(tmp_path / "backup")]) == 0

    assert daily_revenue(fresh / "warehouse.duckdb") == gold
    assert read_table(fresh / "lake", "silver", "orders").sort("o_orderkey").equals(silver)
    landed = sorted(p.relative_to(live).as_posix() for p in (live / "landing").rglob("*.tbl"))
    assert sorted(p.relative_to(fresh).as_posix() for p in (fresh / "landing").rglob("*.tbl")) == (
        landed
    )
    with dg.DagsterInstance.get() as restored:
        assert restored.get_run_by_id(recorded.run_id) is not None
        assert restored.fetch_materializations(dg.AssetKey(["bronze", "orders"]), limit=1).records

    # and the restored platform builds on: gold for a day rebuilt from the restored lake
    build_day(platform_assets, platform_resources(fresh), "1995-01-02")
    assert daily_revenue(fresh / "warehouse.duckdb") == gold


def test_a_restore_refuses_to_overwrite_a_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Landing(tmp_path / "live" / "landing").drop("orders/1995-01-01/o.tbl", "x")
    point_at(tmp_path / "live", monkeypatch)
    (tmp_path / "backup").mkdir()
    with pytest.raises(SystemExit, match="not empty"):
        backup(["restore", str(tmp_path / "backup")])
