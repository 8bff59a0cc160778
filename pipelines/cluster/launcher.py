"""The run launcher of the cluster instance (config/dagster.cluster.yaml): dagster-celery's
`CeleryRunLauncher`, whose health check also notices a worker that is gone.

dagster-celery judges a run's health by its Celery task's state in the result backend, a state
only the worker writes: a worker killed mid-run (SIGKILL, out of memory, its machine lost) leaves
the task STARTED for ever, and run monitoring would wait out `max_runtime_seconds` (2 h) before
failing the run (an open dagster-celery issue, dagster#33493). So the worker a STARTED task
names is asked, through the broker, which tasks it is running: no answer (it is gone), or an
answer without this task (it was restarted under the same name), and the run is reported
failed; the daemon's run retries then launch it again, on a worker that is alive.
"""

from __future__ import annotations

from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

# A live worker answers from its main process, whatever its run is doing (runs execute in a
# child process): a generous bound, so that a busy machine is never taken for a dead one.
ANSWER_SECONDS = 10.0


class ClusterRunLauncher(CeleryRunLauncher):
    """Runs as Celery tasks; a run whose worker no longer runs it is unhealthy."""

    def check_run_worker_health(self, run):
        health = super().check_run_worker_health(run)
        if health.status != WorkerStatus.RUNNING:
            return health
        task_id = run.tags[DAGSTER_CELERY_TASK_ID_TAG]
        # A started task's result names its worker and pid (Celery's track_started).
        started = self.celery.AsyncResult(task_id).info
        worker = started.get("hostname") if isinstance(started, dict) else None
        if worker is None:
            return health
        active = self.celery.control.inspect(destination=[worker], timeout=ANSWER_SECONDS).active() or {}
        if worker not in active:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"Celery worker {worker} does not answer: it is gone, "
                                                             f"and its run (pid {started.get('pid')}) with it")
        if task_id not in {task["id"] for task in active[worker]}:
            # It may have finished since the first look; else the worker was restarted without it.
            health = super().check_run_worker_health(run)
            if health.status == WorkerStatus.RUNNING:
                return CheckRunHealthResult(WorkerStatus.FAILED, f"Celery worker {worker} answers but no longer "
                                                                 "runs this run: it was restarted")
        return health
