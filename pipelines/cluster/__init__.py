"""The same jobs on more than one worker: Dagster's Celery run launcher with Redis.

`services` starts PostgreSQL (the instance) and Redis (Celery's broker and result backend) on
loopback; `launcher` is the run launcher the daemon hands runs to; `worker` is the Celery app
the workers run; `topology` starts the whole of it for a try-out (`make cluster`).
docs/operations.md, "The cluster", says how it fits together and what a real deployment changes.
"""
