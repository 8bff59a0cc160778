from datetime import datetime

import pytest

from simulator import Simulation, start_server

NOW = datetime(2025, 1, 8, 0, 0, 0)
AGENCIES = ["000.00.00.G12", "000.00.00.G01", "000.00.00.G15", "000.00.00.H24", "000.00.00.H38",
            "000.00.00.H14", "000.00.00.H12", "000.00.00.H23"]


@pytest.fixture(scope="session")
def sim():
    return Simulation(seed=42, scale=0.01, faults="none", now=NOW, agencies=AGENCIES)


@pytest.fixture(scope="session")
def served(sim):
    server, url = start_server(sim)
    yield sim, url
    server.shutdown()
    server.server_close()
