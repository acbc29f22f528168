import datetime as dt

import pytest

from data_platform.contracts import ENTITIES
from data_platform.landing.layout import LandedFile, MisfitFile, classify, is_hidden

NAMES = frozenset(e.name for e in ENTITIES)
WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _classify(path: str) -> LandedFile | MisfitFile:
    return classify(path, size=1, landed_at=WHEN, entities=NAMES)


@pytest.mark.parametrize(
    ("path", "fmt", "compressed"),
    [
        ("orders/1995-03-04/orders.tbl", "tbl", False),
        ("lineitem/1995-03-04/Lieferung März 2.csv", "csv", False),
        ("customer/1995-03-04/extract.PARQUET", "parquet", False),
        ("orders/1995-03-04/orders.tbl.gz", "tbl", True),
        ("orders/1995-03-04/a.b.c.csv.gz", "csv", True),
    ],
)
def test_file_fitting_the_contract_is_landed(path: str, fmt: str, compressed: bool) -> None:
    found = _classify(path)
    assert isinstance(found, LandedFile)
    assert (found.entity, found.business_date) == (path.split("/")[0], dt.date(1995, 3, 4))
    assert (found.format, found.compressed) == (fmt, compressed)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("invoices/1995-03-04/x.tbl", "unknown entity 'invoices'"),
        ("orders/1995-13-04/x.tbl", "invalid date folder '1995-13-04'"),
        ("orders/19950304/x.tbl", "invalid date folder '19950304'"),
        ("orders/1995-03-04/x.xlsx", "unknown extension 'x.xlsx'"),
        ("orders/1995-03-04/x.gz", "unknown extension 'x.gz'"),
        ("orders/1995-03-04/README", "unknown extension 'README'"),
        ("orders/x.tbl", "not at <entity>/<YYYY-MM-DD>/<file>"),
        ("orders/1995-03-04/deeper/x.tbl", "not at <entity>/<YYYY-MM-DD>/<file>"),
    ],
)
def test_file_off_contract_is_a_misfit_with_reason(path: str, reason: str) -> None:
    assert _classify(path) == MisfitFile(path, reason)


def test_in_progress_writes_and_markers_are_hidden() -> None:
    assert is_hidden("orders/1995-03-04/.orders.tbl.tmp")
    assert is_hidden("orders/1995-03-04/_SUCCESS")
    assert not is_hidden("orders/1995-03-04/orders.tbl")
