"""The landing contract: where files land, how each format is read into bronze text rows."""
