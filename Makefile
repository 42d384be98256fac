# Two commands on a fresh machine: `make run` (set up + January 2013 backfill) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export FLIGHTS_LANDING_DIR ?= $(CURDIR)/data/landing
export FLIGHTS_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
# Stock dagster commands print empty tqdm bars ("0it [00:00, ?it/s]") while they set up a new instance.
export TQDM_DISABLE ?= 1

FROM ?= 2013-01-01
TO ?= 2013-01-31
DAGIT_PORT ?= 3000
export CHROMIUM ?= /usr/bin/chromium

.PHONY: install run land backfill wait summary report test test-quick lint dagit chromium servers pg stack clean

$(STAMP): setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[postgres,fleet,slack,test]'
	touch $(STAMP)

install: $(STAMP)

land: install
	$(BIN)/flights-etl land --from $(FROM) --to $(TO)

# The dry run first: a bad FLIGHTS_LAST_DAY or range is one line there, a traceback in Dagster's command.
backfill: install
	$(BIN)/flights-etl backfill --partition-set flights_daily_partition_set --from $(FROM) --to $(TO) --dry-run >/dev/null
	$(BIN)/dagster pipeline backfill -w workspace.yaml -p flights_daily_pipeline \
		--partition-set flights_daily_partition_set --from $(FROM) --to $(TO) --noprompt

# `dagster pipeline backfill` can return before its last runs finish: wait for them, show the calendar.
wait: install
	$(BIN)/flights-etl status --partition-set flights_daily_partition_set --wait

summary: install
	$(BIN)/flights-etl summary --from $(FROM) --to $(TO)

run: land backfill wait summary

# Build one month's report by hand (the sensor does it when the daemon runs): make report MONTH=2013-01
MONTH ?= 2013-01
report: install
	$(BIN)/flights-etl backfill --partition-set flights_monthly_partition_set --partitions $(MONTH)
	$(BIN)/flights-etl summary --month $(MONTH)

# The tests run in TEST_WORKERS pytest-xdist processes: many of them wait on daemons' ticks, servers
# and grace periods, so four share two cores well; worksteal evens out the long ones.
TEST_WORKERS ?= 4
test: install chromium servers
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=25

# The inner loop (under two minutes): no server, daemon, Dagit or browser. `make test` runs everything.
test-quick: install
	$(BIN)/pytest -m "not slow and not ui and not server" -n $(TEST_WORKERS) --dist worksteal

# ruff, then the layers and import rules of .importlinter (operations -> definitions -> runs/instance -> domain).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Dagit (websocket served by wsproto, see flights_etl/dagit_tools/server.py) and dagster-daemon
# (turns Dagit backfills into runs, ticks schedules) on 127.0.0.1; Ctrl-C stops both.
dagit: install
	$(BIN)/python -m flights_etl.dagit_tools.stack -w workspace.yaml -H 127.0.0.1 -p $(DAGIT_PORT)

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

# The tests start their own PostgreSQL and Redis servers from Debian's binaries: install them if missing.
servers:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql redis-server; \
	fi

# A throwaway PostgreSQL on loopback for trying the shared deployment; prints the URLs to export. Ctrl-C stops it.
pg: install servers
	$(BIN)/python -m devtools.postgres

# The worker fleet on one machine: throwaway PostgreSQL and Redis, WORKERS workers, the daemon and
# Dagit on 127.0.0.1:DAGIT_PORT. Land files first (make land). Ctrl-C stops everything.
WORKERS ?= 2
stack: install servers
	$(BIN)/python -m devtools.cluster --workers $(WORKERS) --port $(DAGIT_PORT)

clean:
	rm -rf data .dagster_home/history .dagster_home/storage .dagster_home/schedules .dagster_home/logs
