"""Versioned open-data releases of the KPI tables and code lists (see docs/open-data.md)."""
