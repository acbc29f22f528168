"""Tooling to run the platform's deployment profiles on one machine (not part of the platform)."""
