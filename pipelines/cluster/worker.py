"""The Celery app a worker runs: `python -m celery -A pipelines.cluster.worker worker`.

It is the app of the instance's own run launcher ($DAGSTER_HOME/dagster.yaml, from
config/dagster.cluster.yaml), so the broker, the result backend and the delivery settings live
in one place for the daemon that sends runs and the workers that take them; dagster-celery's
run tasks are registered on it, the way its docs make a custom app. Each run then executes in
a child process of the worker (one at a time, a fresh child per run: `worker_concurrency`,
`worker_max_tasks_per_child`), which loads the code location from disk as the run starts.
"""

from __future__ import annotations

import dagster as dg
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task


def _launcher_app():
    with dg.DagsterInstance.get() as instance:
        return instance.run_launcher.celery


app = _launcher_app()
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
