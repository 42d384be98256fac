"""dagster-postgres' storages keeping a few connections open (needs the postgres extra): one storage per
module as in dagster-postgres 0.15.10; ``deploy/postgres`` and ``deploy/fleet`` name ``storage.PooledPostgresStorage``."""
from flights_etl.extras import require_extra

require_extra("postgres", "dagster_postgres", "psycopg2")
