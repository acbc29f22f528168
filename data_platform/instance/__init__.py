"""Dagster instance storage for the local profile (production runs Dagster on PostgreSQL)."""
