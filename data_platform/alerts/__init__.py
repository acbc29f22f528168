"""Slack alerts: what the instance records (failed runs, checks, freshness, sensor ticks) becomes
messages in a channel, each exactly once, through a durable outbox (see `outbox`)."""
