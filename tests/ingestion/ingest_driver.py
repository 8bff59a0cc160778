"""Ingest every agency for some days into EGOV_DATA_DIR on the DAGSTER_HOME instance, against
an in-process simulator with a fixed clock: the process the crash test kills and restarts.

    python tests/ingestion/ingest_driver.py SEED SCALE YYYY-MM-DD [YYYY-MM-DD ...]
"""

import json
import os
import sys
from datetime import date, datetime, timedelta


def main(seed: str, scale: str, *days: str) -> int:
    os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"
    import dagster as dg

    from simulator import Simulation, start_server

    wanted = [date.fromisoformat(d) for d in days]
    sim = Simulation(seed=int(seed), scale=float(scale), faults="none",
                     now=datetime.combine(max(wanted) + timedelta(days=1), datetime.min.time()))
    server, url = start_server(sim)
    tokens = os.path.join(os.environ["EGOV_DATA_DIR"], "tokens.json")
    with open(tokens, "w") as fh:
        json.dump(sim.tokens(), fh)
    os.environ.update(EGOV_SOURCE_URL=url, EGOV_AGENCY_TOKENS_FILE=tokens)

    from pipelines.definitions import defs
    from tests.helpers import ingest_days, register

    with dg.DagsterInstance.get() as instance:
        assert register(defs, instance)
        failed = ingest_days(defs, instance, wanted)
    server.shutdown()
    print(json.dumps({"failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
