"""Dagster instance storage for the local profile (SQLite under $DAGSTER_HOME)."""
