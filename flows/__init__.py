"""Prefect flows and tasks: load, call the domain (models.transitions.apply_transition), persist,
render, notify, schedule. Thin by design; filled in by the orchestration issue."""
