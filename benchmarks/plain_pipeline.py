"""The baseline: `plain_duckdb.sql` run by DuckDB into a fresh database file."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from data_platform import settings

SCRIPT = Path(__file__).with_name("plain_duckdb.sql")


def main(landing: str, database: str) -> int:
    Path(database).unlink(missing_ok=True)
    connection = duckdb.connect(database)
    # the salt gold's pseudonyms are keyed with, as the platform reads it
    salt = settings.read(settings.PSEUDONYM_SALT).replace("'", "''")
    connection.execute(SCRIPT.read_text().replace("{landing}", landing).replace("{salt}", salt))
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
