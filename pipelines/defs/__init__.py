"""Dagster definitions, one module per stage: sources, validation, transform, publish."""
