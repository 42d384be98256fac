"""The worker fleet: a Celery run launcher and ``flights-etl worker``, warm processes that execute runs in-process."""
from flights_etl.extras import require_extra

require_extra("fleet", "celery", "kombu", "redis")
