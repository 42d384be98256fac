# Two commands on a fresh machine: `make run` (set up + January 2013 backfill) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export FLIGHTS_LANDING_DIR ?= $(CURDIR)/data/landing
export FLIGHTS_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb

FROM ?= 2013-01-01
TO ?= 2013-01-31

.PHONY: install run land backfill summary test dagit clean

$(STAMP): setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

land: install
	$(BIN)/flights-etl land --start $(FROM) --end $(TO)

backfill: install
	$(BIN)/dagster pipeline backfill -w workspace.yaml -p flights_daily_pipeline \
		--partition-set flights_daily_partition_set --from $(FROM) --to $(TO) --noprompt

summary: install
	$(BIN)/flights-etl summary

run: land backfill summary

test: install
	$(BIN)/pytest

dagit: install
	$(BIN)/dagit -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf data .dagster_home/history .dagster_home/storage .dagster_home/schedules .dagster_home/logs
