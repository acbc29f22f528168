"""What the daemon tests measured, printed at the end of the session (they record, not assert,
how long the platform took: see `test_daemon.py`)."""

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    measured = [
        (report.nodeid.split("::")[-1], name, value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
        for name, value in report.user_properties
    ]
    if measured:
        terminalreporter.section("platform with its daemon: measured")
        for test, name, value in measured:
            terminalreporter.write_line(f"{name:>30}: {value}  ({test})")
