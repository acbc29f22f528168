"""`make bench`: the platform's full-history backfill against a plain DuckDB pipeline."""
