"""React to files landing: every new or changed file gets its entity's bronze partition rebuilt,
once. Silver and gold follow by declarative automation (`data_platform.automation`).

The cursor remembers each landed file by path, size and modification time, not a high-water mark
of times: a file moved or copied in with an old time is still new, and a rewritten file is
changed. New files are grouped into few runs: the dates of daily entities are cut into clusters
(dates at most a week apart share a single-run range), so one new day is one small run and a
history of thousands of days is one run; dimension extracts are one run. A date outside the
partitions is never requested (that would fail the whole tick): a date beyond the last partition
waits in the landing zone until its partition exists, one before the first is reported and passed.
"""

import base64
import datetime as dt
import hashlib
import json
import zlib

import dagster as dg

from data_platform.catalog.keys import lake_key
from data_platform.catalog.partitions import RANGE_END_TAG, RANGE_START_TAG
from data_platform.contracts import ENTITIES
from data_platform.landing.layout import LandedFile
from data_platform.resources.landing_zone import LandingZone

GAP_DAYS = 7


def token(landed: LandedFile) -> str:
    return f"{landed.size}:{landed.landed_at.timestamp():.6f}"


def encode_cursor(seen: dict[str, str]) -> str:
    packed = zlib.compress(json.dumps(seen, sort_keys=True).encode())
    return base64.b64encode(packed).decode()


def decode_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    seen: dict[str, str] = json.loads(zlib.decompress(base64.b64decode(cursor)))
    return seen


def clusters(dates: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted dates cut where two neighbours are more than GAP_DAYS apart; inclusive ranges."""
    ordered = sorted(set(dates))
    found: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if found and (day - found[-1][1]).days <= GAP_DAYS:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def _run_key(files: list[LandedFile]) -> str:
    digest = hashlib.sha256("\n".join(sorted(f"{f.path}@{token(f)}" for f in files)).encode())
    return digest.hexdigest()[:32]


def plan(
    new: list[LandedFile], first_day: dt.date, last_day: dt.date
) -> tuple[list[dg.RunRequest], list[LandedFile], list[LandedFile]]:
    """Run requests for `new` files; also the files that must wait, and those passed over."""
    entities = {entity.name: entity for entity in ENTITIES}
    waiting = [f for f in new if entities[f.entity].partitioned and f.business_date > last_day]
    too_old = [f for f in new if entities[f.entity].partitioned and f.business_date < first_day]
    daily = [
        f
        for f in new
        if entities[f.entity].partitioned and first_day <= f.business_date <= last_day
    ]
    requests = []
    for low, high in clusters([f.business_date for f in daily]):
        files = [f for f in daily if low <= f.business_date <= high]
        names = sorted({f.entity for f in files})
        requests.append(
            dg.RunRequest(
                run_key=_run_key(files),
                asset_selection=[lake_key("bronze", entities[name]) for name in names],
                tags={RANGE_START_TAG: low.isoformat(), RANGE_END_TAG: high.isoformat()},
            )
        )
    dimensions = [f for f in new if not entities[f.entity].partitioned]
    if dimensions:
        names = sorted({f.entity for f in dimensions})
        requests.append(
            dg.RunRequest(
                run_key=_run_key(dimensions),
                asset_selection=[lake_key("bronze", entities[name]) for name in names],
            )
        )
    return requests, waiting, too_old


def build_landing_sensor(
    partitions: dg.TimeWindowPartitionsDefinition, interval_seconds: int = 30
) -> dg.SensorDefinition:
    targets = [lake_key("bronze", entity) for entity in ENTITIES]

    @dg.sensor(
        name="landing_sensor",
        description="Materializes bronze for the partitions that newly landed files touch.",
        asset_selection=dg.AssetSelection.assets(*targets),
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext, landing_zone: LandingZone
    ) -> dg.SensorResult | dg.SkipReason:
        seen = decode_cursor(context.cursor)
        scan = landing_zone.scan([entity.name for entity in ENTITIES])
        new = [f for f in scan.files if seen.get(f.path) != token(f)]
        if not new:
            return dg.SkipReason(f"no new files among {len(scan.files)} landed")
        keys = partitions.get_partition_keys()
        first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
        requests, waiting, too_old = plan(new, first, last)
        for landed in too_old:
            context.log.warning(f"{landed.path}: dated before the first partition {first}")
        if waiting:
            context.log.info(f"{len(waiting)} files wait for their partition (after {last})")
        unseen = {f.path for f in waiting}
        remembered = {f.path: token(f) for f in scan.files if f.path not in unseen}
        context.log.info(f"{len(new) - len(waiting)} new files: {len(requests)} runs")
        return dg.SensorResult(run_requests=requests, cursor=encode_cursor(remembered))

    return landing_sensor
