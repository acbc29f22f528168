"""The platform's full-history backfill, executed as the run worker would execute it.

Dimensions first, then one single-run range over every daily partition of bronze, silver and gold
(the backfill policy every partitioned asset has), on a Dagster instance configured like the
local profile's (`config/dagster.yaml`). No daemon is involved, so there is no polling delay.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import dagster as dg

CONFIG = Path(__file__).parents[1] / "config" / "local" / "dagster.yaml"


def main(first_day: str, last_day: str, report: str) -> int:
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, home / "dagster.yaml")

    from data_platform.definitions import build_definitions

    definitions = build_definitions()
    assets = [a for a in definitions.assets or [] if isinstance(a, dg.AssetsDefinition)]
    timings = {}
    with dg.DagsterInstance.get() as instance:
        for name, selected, tags in (
            ("dimensions", [a for a in assets if a.partitions_def is None and _upstream(a)], {}),
            (
                "daily history",
                [a for a in assets if a.partitions_def is not None],
                {
                    "dagster/asset_partition_range_start": first_day,
                    "dagster/asset_partition_range_end": last_day,
                },
            ),
            (
                "gold reports",
                [a for a in assets if a.partitions_def is None and not _upstream(a)],
                {},
            ),
        ):
            started = time.perf_counter()
            result = dg.materialize(
                selected, instance=instance, resources=definitions.resources, tags=tags
            )
            timings[name] = time.perf_counter() - started
            if not result.success:
                return 1
    Path(report).write_text(json.dumps(timings))
    return 0


def _upstream(asset: dg.AssetsDefinition) -> bool:
    """Bronze and silver; gold reports need the daily history first."""
    return all(key.path[0] != "gold" for key in asset.keys)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
