"""Asset checks: what each layer promises, verified on every materialization."""
