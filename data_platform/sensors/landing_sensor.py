"""React to files landing: every new or changed file gets its entity's bronze partition rebuilt,
once, and in the same run what follows it (`Followers`): silver and quarantine, a dimension's
history, a new day's gold and the reports, so one run takes a day from its files to its gold.
The rest (the quality history, the gold of days a dimension change touches, the reports after a
tick of several runs) follows by declarative automation (`data_platform.automation`).

The cursor remembers each landed file by path, size and modification time, not a high-water mark
of times: a file moved or copied in with an old time is still new, and a rewritten file is
changed. New files are grouped into few runs: the dates of daily entities are cut into clusters
(dates at most a week apart share a single-run range), so one new day is one small run and a
history of thousands of days is one run; dimension extracts are one run. A date outside the
partitions is never requested (that would fail the whole tick): a date beyond the last partition
waits in the landing zone until its partition exists, one before the first is reported and passed.

A file is requested once it has been quiet for the landing zone's settle period
(`data_platform.landing.settle`): a source that writes in place, without a rename, would otherwise
be read half-written. A file still settling, and the other new files of its date, are not
remembered: the tick says how many wait, and a later tick requests them.

Files that do not fit the landing layout (at the zone's root, under an unknown entity, without a
date folder) are never read and never start or fail a run: each is logged on the tick that first
finds it, and whenever the set of them changes the sensor records an observation of the landing
zone asset (`landing/zone`) listing every one with its reason, so the UI shows them. Hidden names
(a leading `.` or `_`) are neither: writes in progress, markers, and `_archive/`, where retention
moves old files (archiving requests nothing; bronze still reads them).
"""

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from data_platform.automation.retries import run_tags
from data_platform.catalog.keys import LANDING_ZONE, lake_key
from data_platform.catalog.metadata import records_table
from data_platform.catalog.partitions import RANGE_END_TAG, RANGE_START_TAG
from data_platform.contracts import ENTITIES
from data_platform.landing import settle
from data_platform.landing.layout import LandedFile, MisfitFile, misfits_frame
from data_platform.resources.lake import Lake
from data_platform.resources.landing_zone import LandingZone

GAP_DAYS = 7
# cursor entries of the misfits found, beside the landed files' paths
MISFIT = "misfit:"
# and of the files still settling: `<version>@<when first seen so>`
SETTLING = "settling:"
# and since when a first load has been landing (files settling while gold's inputs are missing)
FIRST_LOAD_BUSY_SINCE = "first-load:busy-since"
MISFITS_SHOWN = 200
SETTLING_SHOWN = 20


def token(landed: LandedFile) -> str:
    return landed.version


def encode_cursor(seen: dict[str, str]) -> str:
    packed = zlib.compress(json.dumps(seen, sort_keys=True).encode())
    return base64.b64encode(packed).decode()


def decode_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    seen: dict[str, str] = json.loads(zlib.decompress(base64.b64decode(cursor)))
    return seen


def clusters(
    dates: list[dt.date], avoid: frozenset[dt.date] = frozenset()
) -> list[tuple[dt.date, dt.date]]:
    """Sorted dates cut where two neighbours are more than GAP_DAYS apart, or where a date to
    `avoid` lies between them; inclusive ranges."""
    ordered = sorted(set(dates))
    found: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        joins = bool(found) and (day - found[-1][1]).days <= GAP_DAYS
        if joins and not any(found[-1][1] < held < day for held in avoid):
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def _run_key(files: list[LandedFile]) -> str:
    digest = hashlib.sha256("\n".join(sorted(f"{f.path}@{token(f)}" for f in files)).encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Followers:
    """What a run of the landing sensor builds after bronze, in the same run: for each entity,
    the tables its bronze feeds (silver, quarantine, a dimension's history), the daily gold marts
    of the days a run loads, and, when the tick is one run, the reports. One run takes a new day
    from its files to its gold and reports; automation requests nothing more for what a run
    built whole."""

    by_entity: Mapping[str, Sequence[dg.AssetKey]] = field(default_factory=dict)
    daily_gold: Sequence[dg.AssetKey] = ()
    # the unpartitioned gold marts, which read every day
    reports: Sequence[dg.AssetKey] = ()
    # the dimension tables the daily gold reads: a run goes on to gold only once they exist
    gold_reads: Sequence[dg.AssetKey] = ()

    def selection(
        self, names: Iterable[str], *, gold: bool, reports: bool = False
    ) -> list[dg.AssetKey]:
        entities = {entity.name: entity for entity in ENTITIES}
        keys = [lake_key("bronze", entities[name]) for name in names]
        keys += [key for name in names for key in self.by_entity.get(name, ())]
        keys += list(self.daily_gold) if gold else []
        return keys + (list(self.reports) if gold and reports else [])

    def all_keys(self) -> list[dg.AssetKey]:
        return self.selection([entity.name for entity in ENTITIES], gold=True, reports=True)


def plan(
    new: list[LandedFile],
    first_day: dt.date,
    last_day: dt.date,
    avoid: frozenset[dt.date] = frozenset(),
    followers: Followers = Followers(),
    missing_reads: frozenset[dg.AssetKey] = frozenset(),
) -> tuple[list[dg.RunRequest], list[LandedFile], list[LandedFile]]:
    """Run requests for `new` files, no range covering a date to `avoid`; also the files that
    must wait, and those passed over.

    A daily run goes on to the days' gold when the dimension tables gold reads exist (none is
    in `missing_reads`) and no dimension landed on the same tick: a dimension's new version
    touches every day's gold, which automation rebuilds once the dimension's run is done. On a
    first load the dimensions are built for the first time, so nothing built from them can be
    left stale: they join the first daily run, which then goes on to gold once every table gold
    reads is built in it. A tick of one run over one day (a new day, a correction) takes it on to
    the reports as well. A tick of several runs leaves them to automation, which builds them once
    after all of them, and so does a range: automation can tell that a run built the reports
    after it changed their inputs only for the latest partition it wrote (Dagster's
    `executed_with_root_target`), so it would build them again after a range run."""
    entities = {entity.name: entity for entity in ENTITIES}
    waiting = [f for f in new if entities[f.entity].partitioned and f.business_date > last_day]
    too_old = [f for f in new if entities[f.entity].partitioned and f.business_date < first_day]
    daily = [
        f
        for f in new
        if entities[f.entity].partitioned and first_day <= f.business_date <= last_day
    ]
    dimensions = [f for f in new if not entities[f.entity].partitioned]
    dimension_names = sorted({f.entity for f in dimensions})
    ranges = clusters([f.business_date for f in daily], avoid)
    built_with_dimensions = set(followers.selection(dimension_names, gold=False))
    first_load = bool(dimensions and missing_reads and ranges)
    joined = first_load and missing_reads <= built_with_dimensions
    one_run = len(ranges) + bool(dimensions and not joined) == 1
    requests = []
    for number, (low, high) in enumerate(ranges):
        files = [f for f in daily if low <= f.business_date <= high]
        names = sorted({f.entity for f in files})
        gold = not missing_reads and not dimensions
        if joined and number == 0:
            files, names, gold = files + dimensions, names + dimension_names, True
        requests.append(
            dg.RunRequest(
                run_key=_run_key(files),
                asset_selection=followers.selection(
                    names, gold=gold, reports=one_run and low == high
                ),
                tags={
                    **run_tags(),
                    RANGE_START_TAG: low.isoformat(),
                    RANGE_END_TAG: high.isoformat(),
                },
            )
        )
    if dimensions and not joined:
        requests.append(
            dg.RunRequest(
                run_key=_run_key(dimensions),
                asset_selection=followers.selection(dimension_names, gold=False),
                tags=run_tags(),
            )
        )
    return requests, waiting, too_old


def build_landing_sensor(
    partitions: dg.TimeWindowPartitionsDefinition,
    interval_seconds: int = 30,
    followers: Followers = Followers(),
) -> dg.SensorDefinition:
    targets = followers.all_keys()

    @dg.sensor(
        name="landing_sensor",
        description="Materializes bronze for the partitions that newly landed files touch, and "
        "what follows it in the same run (silver, quarantine, a new day's gold).",
        asset_selection=dg.AssetSelection.assets(*targets),
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext, landing_zone: LandingZone, lake: Lake
    ) -> dg.SensorResult | dg.SkipReason:
        seen = decode_cursor(context.cursor)
        scan = landing_zone.scan([entity.name for entity in ENTITIES])
        misfits = {misfit.path: misfit.reason for misfit in scan.misfits}
        known = {k.removeprefix(MISFIT): v for k, v in seen.items() if k.startswith(MISFIT)}
        for path in sorted(misfits.keys() - known.keys()):
            context.log.warning(f"passed over {path}: {misfits[path]}")
        events = [] if misfits == known else [observe(len(scan.files), scan.misfits)]
        new = [f for f in scan.files if seen.get(f.path) != token(f)]
        if not new and not events:
            passed_over = f"; {len(misfits)} misfit files passed over" if misfits else ""
            return dg.SkipReason(f"no new files among {len(scan.files)} landed{passed_over}")
        watched = {k.removeprefix(SETTLING): v for k, v in seen.items() if k.startswith(SETTLING)}
        now = dt.datetime.now(dt.UTC)
        period = landing_zone.settle_period()
        held = settle.hold(new, settle.settling(new, watched, now, period))
        # the tables gold reads that do not exist yet: none, except before a first load's run
        missing = frozenset(key for key in followers.gold_reads if not lake.exists(key))
        busy_since = None
        if held.settling and missing:
            # a first load still landing waits whole: the history is one run, not one per tick
            busy_since = float(seen.get(FIRST_LOAD_BUSY_SINCE, now.timestamp()))
            held = settle.whole_first_load(new, held, now.timestamp() - busy_since, period)
        held_back = {f.path for f in held.waiting}
        ready = [f for f in new if f.path not in held_back]
        requests: list[dg.RunRequest] = []
        waiting: list[LandedFile] = []
        if ready:
            keys = partitions.get_partition_keys()
            first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
            requests, waiting, too_old = plan(ready, first, last, held.dates, followers, missing)
            for landed in too_old:
                context.log.warning(f"{landed.path}: dated before the first partition {first}")
            if waiting:
                context.log.info(f"{len(waiting)} files wait for their partition (after {last})")
        unseen = held_back | {f.path for f in waiting}
        remembered = {f.path: token(f) for f in scan.files if f.path not in unseen}
        remembered.update({MISFIT + path: reason for path, reason in misfits.items()})
        remembered.update({SETTLING + path: state for path, state in held.settling.items()})
        if busy_since is not None:
            remembered[FIRST_LOAD_BUSY_SINCE] = str(busy_since)
        context.log.info(f"{len(ready) - len(waiting)} new files: {len(requests)} runs")
        settling = report_settling(context, held) if held.settling else None
        return dg.SensorResult(
            run_requests=requests,
            asset_events=events,
            cursor=encode_cursor(remembered),
            skip_reason=None if requests else settling,
        )

    return landing_sensor


def report_settling(context: dg.SensorEvaluationContext, held: settle.Held) -> str:
    """Log the files still settling and those waiting with them; the tick's one-line account."""
    count = len(held.settling)
    summary = f"waiting for {count} file{'' if count == 1 else 's'} to settle"
    others = len(held.waiting) - count
    beside = f", and {others} more new files of the same dates or dimensions" if others else ""
    shown = ", ".join(sorted(held.settling)[:SETTLING_SHOWN])
    context.log.info(f"{summary} (written to within the settle period){beside}: {shown}")
    return summary + beside


def observe(files: int, misfits: list[MisfitFile]) -> dg.AssetObservation:
    """The landing zone as found: how many files fit the layout, and every one that does not."""
    table = misfits_frame(sorted(misfits, key=lambda m: m.path)[:MISFITS_SHOWN])
    return dg.AssetObservation(
        asset_key=LANDING_ZONE,
        metadata={
            "files": dg.MetadataValue.int(files),
            "misfit_files": dg.MetadataValue.int(len(misfits)),
            "misfits": records_table(table),
        },
    )
