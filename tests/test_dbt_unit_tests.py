"""The dbt project's unit tests (given rows in, expected rows out for each mart's logic).

Platform runs build models with their data tests only (`data_platform/resources/dbt.py`); the unit
tests are run here, where a failure stops a change from landing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from data_platform.assets.gold import dbt_project, manifest_path
from data_platform.resources.warehouse import Warehouse
from data_platform.settings import DBT_PROJECT_DIR


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    declared = json.loads(manifest_path(dbt_project()).read_text())["unit_tests"]
    assert declared, "the dbt project declares unit tests"
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"), lake_dir=str(tmp_path / "lake"))
    dbt = Path(sys.executable).parent / "dbt"
    completed = subprocess.run(
        [str(dbt), "test", "--select", "test_type:unit", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env={
            **os.environ,
            **warehouse.dbt_environment(),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert f"PASS={len(declared)} " in completed.stdout, completed.stdout[-3000:]
