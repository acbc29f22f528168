"""The landing zone as a source asset: not built by the platform, observed by the landing sensor."""

import dagster as dg

from data_platform.catalog.keys import LANDING_ZONE


def landing_zone_asset() -> dg.AssetSpec:
    return dg.AssetSpec(
        LANDING_ZONE,
        description="The files source systems land, as the landing sensor last found them.",
        group_name="bronze",
        kinds={"files"},
        tags={"layer": "landing"},
    )
