"""The worker fleet: a Celery run launcher and ``flights-etl worker``, warm processes that execute runs in-process."""
