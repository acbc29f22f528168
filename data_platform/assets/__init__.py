"""Bronze, silver and gold assets, generated from the entity contracts."""
