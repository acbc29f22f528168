"""A medallion data platform on Dagster: landed TPC-H files to bronze, silver and gold."""
