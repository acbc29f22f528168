"""The baseline: `plain_duckdb.sql` run by DuckDB into a fresh database file."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).with_name("plain_duckdb.sql")


def main(landing: str, database: str) -> int:
    Path(database).unlink(missing_ok=True)
    connection = duckdb.connect(database)
    connection.execute(SCRIPT.read_text().replace("{landing}", landing))
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
