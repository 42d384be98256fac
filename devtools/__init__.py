"""Development tooling, not installed with the package: throwaway PostgreSQL and Redis servers and a
production-shaped deployment on one machine, for trying it (``make pg``, ``make stack``), the tests
and the benchmarks. Run from the repository's root (``python -m devtools.postgres``)."""
