"""dbt's silver sources are the contracts' rendering, never a hand-kept copy."""

from data_platform.contracts.dbt_sources import SOURCES_FILE, render


def test_dbt_sources_match_the_contracts() -> None:
    assert SOURCES_FILE.read_text() == render(), (
        "dbt_project/models/staging/_silver__sources.yml is stale: "
        "run `python -m data_platform.contracts.dbt_sources`"
    )
