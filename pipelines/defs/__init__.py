"""Dagster definitions, one module per stage: sources, validation, transform, publish."""

import warnings

import dagster as dg

# `backfill_policy` is beta in Dagster 1.13 (the project pins 1.13.*): said once here, not by every run.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
