"""Operational jobs and their schedules (maintenance rather than datasets)."""
