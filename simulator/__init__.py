"""Simulated one-stop-shop systems of Vietnam's ministries and provinces.

`Simulation` is the deterministic generator and ground truth; `start_server` serves it over
HTTP in a background thread. See docs/source-api.md for the API contract.
"""
from .lifecycle import Dossier, Supplement
from .server import start_server
from .simulation import BadRequest, Simulation

__all__ = ["Simulation", "start_server", "Dossier", "Supplement", "BadRequest"]
