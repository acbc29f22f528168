"""A missing daily drop fails the data-time check, even when an old day was rebuilt meanwhile."""

import datetime as dt

import dagster as dg

from data_platform.checks.drop_arrival import CHECK, drop_arrival_checks
from tests.conftest import Landing, materialize_layers, tbl_line, tbl_orders

TODAY = dt.datetime.now(dt.UTC).date()


def land_day(landing: Landing, day: dt.date, key: int, name: str = "a") -> None:
    landing.drop(f"orders/{day}/{name}.tbl", tbl_orders(key, day=day))
    landing.drop(f"lineitem/{day}/{name}.tbl", tbl_line(key, day) + "\n")


def load(assets: list[dg.AssetsDefinition], resources: dict[str, object], day: dt.date) -> None:
    for entity in ("orders", "lineitem"):
        materialize_layers(assets, resources, entity, day.isoformat())


def judged(
    assets: list[dg.AssetsDefinition], resources: dict[str, object]
) -> dict[str, dg.AssetCheckEvaluation]:
    checks = drop_arrival_checks(lag_days=1, timezone="UTC")
    result = dg.materialize(
        [*assets, *checks], selection=dg.AssetSelection.checks(*checks), resources=resources
    )
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def test_a_missing_drop_fails_though_an_old_day_was_rebuilt_and_passes_once_it_lands(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    yesterday, two_days_ago, three_days_ago = (TODAY - dt.timedelta(days=n) for n in (1, 2, 3))
    for key, day in enumerate((three_days_ago, two_days_ago), start=1):
        land_day(landing, day, key)
        load(platform_assets, resources, day)
    # a correction to an old day: silver and gold are materialized again, the drop still missing
    land_day(landing, three_days_ago, 1, name="fix")
    load(platform_assets, resources, three_days_ago)

    missing = judged(platform_assets, resources)
    assert set(missing) == {"silver/orders", "silver/lineitem"}
    for evaluation in missing.values():
        assert evaluation.check_name == CHECK
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert evaluation.metadata["newest_business_date"].value == two_days_ago.isoformat()
        assert evaluation.metadata["days_missing"].value == 1

    land_day(landing, yesterday, 3)
    load(platform_assets, resources, yesterday)
    assert all(e.passed for e in judged(platform_assets, resources).values())


def test_a_table_never_built_has_not_arrived(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object]
) -> None:
    evaluations = judged(platform_assets, resources)
    assert not any(e.passed for e in evaluations.values())
    assert evaluations["silver/orders"].metadata["newest_business_date"].value == "none"
