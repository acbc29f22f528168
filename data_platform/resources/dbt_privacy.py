"""The dbt-duckdb plugin that gives gold's SQL the pseudonym salt (`dbt_project/profiles.yml`).

`macros/privacy.sql` computes a pseudonym from the DuckDB variable `pseudonym_salt`, which this
plugin sets on every connection and cursor dbt opens. The salt reaches dbt's profile as
`DBT_ENV_SECRET_PSEUDONYM_SALT` (`Warehouse.dbt_environment`): dbt scrubs such a variable from
its logs and refuses it anywhere but a profile, so the salt is never in the SQL dbt compiles,
logs and keeps in its target folder, nor in the warehouse: a variable lives only as long as its
connection.
"""

from __future__ import annotations

from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

# the DuckDB variable `macros/privacy.sql` reads
SALT_VARIABLE = "pseudonym_salt"


class Plugin(BasePlugin):
    """Sets `pseudonym_salt` from the plugin's `salt` config; unset, a pseudonym is an error."""

    salt = ""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.salt = str(plugin_config.get("salt") or "")

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._set_salt(conn)

    def configure_cursor(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # a cursor is a connection of its own: DuckDB variables do not carry over
        self._set_salt(cursor)

    def _set_salt(self, connection: duckdb.DuckDBPyConnection) -> None:
        if self.salt:
            connection.execute(f"SET VARIABLE {SALT_VARIABLE} = $1", [self.salt])
