"""The settle rule: a file counts as landed once quiet for the settle period, by its modification
time or by the sensor's own clock; a date waits while any of its files settles."""

import datetime as dt

from data_platform.landing.layout import LandedFile
from data_platform.landing.settle import hold, settling

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
PERIOD = 2.0


def landed(path: str, written: dt.datetime, size: int = 10) -> LandedFile:
    entity, day, _ = path.split("/")
    return LandedFile(path, entity, dt.date.fromisoformat(day), "tbl", False, size, written)


def later(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def test_a_file_written_within_the_period_settles_once_its_time_is_that_old() -> None:
    file = landed("orders/1995-01-01/o.tbl", written=later(-0.5))
    waiting = settling([file], {}, NOW, PERIOD)
    assert waiting == {file.path: f"{file.version}@{NOW.timestamp():.6f}"}
    assert settling([file], waiting, later(1), PERIOD) == waiting
    assert settling([file], waiting, later(1.5), PERIOD) == {}


def test_a_file_that_changed_since_the_last_tick_waits_again_from_now() -> None:
    before = landed("orders/1995-01-01/o.tbl", written=later(-1), size=10)
    waiting = settling([before], {}, NOW, PERIOD)
    grown = landed("orders/1995-01-01/o.tbl", written=later(0.9), size=20)
    assert settling([grown], waiting, later(1), PERIOD) == {
        grown.path: f"{grown.version}@{later(1).timestamp():.6f}"
    }


def test_a_file_stamped_by_a_clock_ahead_settles_once_seen_unchanged_for_the_period() -> None:
    ahead = landed("orders/1995-01-01/o.tbl", written=later(3600))
    waiting = settling([ahead], {}, NOW, PERIOD)
    assert settling([ahead], waiting, later(1), PERIOD) == waiting
    assert settling([ahead], waiting, later(2), PERIOD) == {}


def test_with_no_settle_period_nothing_waits() -> None:
    files = [landed("orders/1995-01-01/o.tbl", NOW), landed("orders/1995-01-02/o.tbl", later(60))]
    assert settling(files, {}, NOW, 0) == {}


def test_the_new_files_of_a_settling_date_or_dimension_wait_with_it() -> None:
    files = [
        landed("orders/1995-01-01/o.tbl", later(-0.1)),
        landed("lineitem/1995-01-01/l.tbl", later(-60)),
        landed("orders/1995-01-02/o.tbl", later(-60)),
        landed("customer/1995-01-01/c.tbl", later(-0.1)),
        landed("customer/1995-01-02/c.tbl", later(-60)),
        landed("nation/1995-01-01/n.tbl", later(-60)),
    ]
    held = hold(files, settling(files, {}, NOW, PERIOD))
    assert sorted(held.settling) == ["customer/1995-01-01/c.tbl", "orders/1995-01-01/o.tbl"]
    assert sorted(f.path for f in held.waiting) == [
        "customer/1995-01-01/c.tbl",
        "customer/1995-01-02/c.tbl",
        "lineitem/1995-01-01/l.tbl",
        "orders/1995-01-01/o.tbl",
    ]
    assert held.dates == {dt.date(1995, 1, 1)}
