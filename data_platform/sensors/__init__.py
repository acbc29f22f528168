"""Sensors: how the platform reacts to the world (files landing)."""
