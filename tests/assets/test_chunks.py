"""A long range is worked on in slices of whole days, cut by volume."""

import datetime as dt

from data_platform.assets.chunks import slices

JAN = dt.date(1995, 1, 1)


def day(n: int) -> dt.date:
    return JAN + dt.timedelta(days=n)


def test_a_range_that_fits_the_budget_is_one_slice() -> None:
    assert slices((day(0), day(400)), {day(3): 10, day(300): 10}, budget=100) == [
        (day(0), day(400))
    ]


def test_slices_cover_the_range_and_each_stays_within_the_budget() -> None:
    weights = {day(n): 40 for n in range(10)}
    found = slices((day(0), day(30)), weights, budget=100)
    assert found == [
        (day(0), day(2)),
        (day(2), day(4)),
        (day(4), day(6)),
        (day(6), day(8)),
        (day(8), day(30)),
    ]


def test_a_day_heavier_than_the_budget_is_a_slice_of_its_own() -> None:
    weights = {day(0): 10, day(1): 500, day(2): 10}
    assert slices((day(0), day(3)), weights, budget=100) == [
        (day(0), day(1)),
        (day(1), day(2)),
        (day(2), day(3)),
    ]
