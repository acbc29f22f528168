"""Each landing format and quirk, parsed to exact bronze rows."""

import datetime as dt
import gzip
import io

import polars as pl
import pytest

from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import read_landed_file
from data_platform.landing.layout import LandedFile

REGION = entity_named("region")
WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def parse(content: bytes, fmt: str = "tbl", compressed: bool = False) -> pl.DataFrame:
    name = f"region/1995-01-01/f.{fmt}" + (".gz" if compressed else "")
    landed = LandedFile(name, "region", dt.date(1995, 1, 1), fmt, compressed, len(content), WHEN)
    return read_landed_file(REGION, landed, content)


def records(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    """(line, key, name, comment, op, changed_at, layout error) per row."""
    return frame.select(
        lin.SOURCE_LINE,
        "r_regionkey",
        "r_name",
        "r_comment",
        lin.OP,
        lin.CHANGED_AT,
        lin.LAYOUT_ERROR,
    ).rows()


def test_tbl_as_dbgen_writes_it() -> None:
    frame = parse(b"0|AFRICA|lar deposits|\n1|AMERICA|hs use|\n")
    assert records(frame) == [
        (1, "0", "AFRICA", "lar deposits", None, None, None),
        (2, "1", "AMERICA", "hs use", None, None, None),
    ]
    assert frame[lin.BUSINESS_DATE].to_list() == [dt.date(1995, 1, 1)] * 2
    assert frame[lin.SOURCE_FILE].to_list() == ["region/1995-01-01/f.tbl"] * 2


def test_tbl_with_change_columns_crlf_and_blank_lines() -> None:
    frame = parse(b"0|AFRICA|c|U|2024-02-01T00:00:00Z|\r\n\r\n1|||D|2024-02-02T00:00:00Z|\r\n")
    assert records(frame) == [
        (1, "0", "AFRICA", "c", "U", "2024-02-01T00:00:00Z", None),
        (3, "1", "", "", "D", "2024-02-02T00:00:00Z", None),
    ]


def test_tbl_wrong_field_count_and_truncated_last_line_keep_raw_text() -> None:
    frame = parse(b"0|AFRICA|c|extra|\n1|AMERICA|c|\n2|AS")
    assert records(frame) == [
        (1, None, None, None, None, None, "wrong_field_count"),
        (2, "1", "AMERICA", "c", None, None, None),
        (3, None, None, None, None, None, "truncated_line"),
    ]
    assert frame[lin.RAW_RECORD].to_list() == ["0|AFRICA|c|extra|", None, "2|AS"]


def test_tbl_last_line_without_newline_but_complete_is_kept() -> None:
    assert records(parse(b"0|AFRICA|c|"))[0][-1] is None


def test_invalid_utf8_marks_only_its_line() -> None:
    frame = parse(b"0|AFRICA|ok|\n1|AM\xffERICA|bad|\n2|ASIA|ok|\n")
    assert frame[lin.LAYOUT_ERROR].to_list() == [None, "invalid_utf8", None]
    assert frame[lin.RAW_RECORD][1] == "1|AM\ufffdERICA|bad|"


def test_csv_any_column_order_extra_columns_bom_crlf_and_quotes() -> None:
    content = (
        "\ufeffr_comment,extra,R_NAME,r_regionkey\r\n"
        '"multi\r\nline, quoted",x,AFRICA,0\r\n'
        "plain,y,AMERICA,1\r\n"
    ).encode()
    frame = parse(content, "csv")
    assert records(frame) == [
        (2, "0", "AFRICA", "multi\r\nline, quoted", None, None, None),
        (4, "1", "AMERICA", "plain", None, None, None),
    ]
    # the column the contract does not know is kept, not dropped
    assert frame[lin.EXTRA_COLUMNS].to_list() == ['{"extra":"x"}', '{"extra":"y"}']


def test_csv_missing_column_is_null_and_ragged_rows_are_layout_errors() -> None:
    content = b"r_regionkey,r_name\n0,AFRICA\n1,AMERICA,surplus\n2"
    assert records(parse(content, "csv")) == [
        (2, "0", "AFRICA", None, None, None, None),
        (3, None, None, None, None, None, "wrong_field_count"),
        (4, None, None, None, None, None, "truncated_line"),
    ]


@pytest.mark.parametrize("content", [b"", b"r_regionkey,r_name,r_comment\r\n"])
def test_empty_and_header_only_files_have_no_rows(content: bytes) -> None:
    assert parse(content, "csv").height == 0
    assert parse(b"", "tbl").height == 0


def test_parquet_values_become_text() -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"r_regionkey": [0], "r_name": ["AFRICA"], "r_comment": ["c"]}).write_parquet(
        buffer
    )
    assert records(parse(buffer.getvalue(), "parquet")) == [
        (1, "0", "AFRICA", "c", None, None, None)
    ]


def test_parquet_columns_the_contract_does_not_know_are_kept_as_text() -> None:
    buffer = io.BytesIO()
    pl.DataFrame(
        {"r_regionkey": [0], "r_name": ["AFRICA"], "Loyalty": [3], "seen": [dt.date(2024, 1, 2)]}
    ).write_parquet(buffer)
    frame = parse(buffer.getvalue(), "parquet")
    assert records(frame) == [(1, "0", "AFRICA", None, None, None, None)]
    assert frame[lin.EXTRA_COLUMNS].to_list() == ['{"loyalty":"3","seen":"2024-01-02"}']


def test_a_file_with_only_known_columns_has_no_extra_columns() -> None:
    frame = parse(b"r_regionkey,r_name,r_comment\n0,AFRICA,c\n", "csv")
    assert frame[lin.EXTRA_COLUMNS].to_list() == [None]


def test_gzip_of_any_format_is_read() -> None:
    assert records(parse(gzip.compress(b"0|AFRICA|c|\n"), "tbl", compressed=True)) == [
        (1, "0", "AFRICA", "c", None, None, None)
    ]


@pytest.mark.parametrize(
    ("content", "fmt", "compressed"),
    [(b"not gzip at all", "tbl", True), (b"PAR1 broken", "parquet", False)],
)
def test_unreadable_file_becomes_one_row_with_the_error(
    content: bytes, fmt: str, compressed: bool
) -> None:
    frame = parse(content, fmt, compressed)
    assert frame.select(lin.SOURCE_LINE, lin.LAYOUT_ERROR).rows() == [(0, "unreadable_file")]
    assert frame[lin.RAW_RECORD][0]


def test_identical_content_has_identical_fingerprint() -> None:
    assert (
        parse(b"0|AFRICA|c|\n")[lin.FILE_FINGERPRINT].to_list()
        == parse(b"0|AFRICA|c|\n")[lin.FILE_FINGERPRINT].to_list()
    )
