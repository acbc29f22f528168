"""When a file counts as landed: once it has been quiet (size and modification time unchanged)
for the landing zone's settle period.

A source that writes a file in place (appending in chunks, no write-then-rename) shows it
half-written, its last line cut. A file is settled once its modification time is a settle period
old, or once the sensor has seen it unchanged for a settle period by its own clock, which holds
whatever the writer's clock says (a modification time in the future waits one period, not until
the clocks agree). Bronze rebuilds a date (a dimension: its whole entity) from all its files, so a
quiet file waits while another file of its date, or its dimension, settles.

A first load (the tables gold reads do not exist yet) waits whole while any of its files settles:
a history copied in over several seconds is one run to gold, not a run per tick of whatever had
settled. It waits so for at most `FIRST_LOAD_WAIT_PERIODS` settle periods after the first tick
that found it settling, so a source that never stops writing still gets its files read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from data_platform.contracts import entity_named
from data_platform.landing.layout import LandedFile

FIRST_LOAD_WAIT_PERIODS = 15


@dataclass(frozen=True)
class Held:
    """Files not to be requested yet: those settling (by path, with when they were first seen
    in their current version), the quiet ones that wait with them, and the dates no run may
    cover until they are quiet."""

    settling: dict[str, str]
    waiting: list[LandedFile]
    dates: frozenset[dt.date]


def settling(
    new: Sequence[LandedFile], watched: dict[str, str], now: dt.datetime, period: float
) -> dict[str, str]:
    """The files among `new` not yet quiet for `period` seconds, each with its state to keep:
    `<version>@<when the sensor first saw that version>`; `watched` is the previous tick's."""
    if period <= 0:
        return {}
    found = {}
    for landed in new:
        if (now - landed.landed_at).total_seconds() >= period:
            continue
        version, _, since = watched.get(landed.path, "").rpartition("@")
        if version != landed.version:
            found[landed.path] = f"{landed.version}@{now.timestamp():.6f}"
        elif now.timestamp() - float(since) < period:
            found[landed.path] = watched[landed.path]
    return found


def hold(new: Sequence[LandedFile], settling: dict[str, str]) -> Held:
    """What waits for the settling files: each of them, and every new file of their dates (for a
    dimension, of their entity), as bronze would read those half-written too."""
    busy = [landed for landed in new if landed.path in settling]
    dates = frozenset(f.business_date for f in busy if entity_named(f.entity).partitioned)
    dimensions = {f.entity for f in busy if not entity_named(f.entity).partitioned}

    def waits(landed: LandedFile) -> bool:
        if entity_named(landed.entity).partitioned:
            return landed.business_date in dates
        return landed.entity in dimensions

    return Held(settling, [landed for landed in new if waits(landed)], dates)


def whole_first_load(new: Sequence[LandedFile], held: Held, busy_for: float, period: float) -> Held:
    """While a first load is landing (`busy_for` seconds so far), every new file waits."""
    if not held.settling or busy_for >= FIRST_LOAD_WAIT_PERIODS * period:
        return held
    dates = frozenset(f.business_date for f in new if entity_named(f.entity).partitioned)
    return Held(held.settling, list(new), dates)
