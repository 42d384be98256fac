"""Dagit's Assets pages from the legacy pipelines (a real Dagit over a real instance): the asset graph
landing -> flights/weather/daily_delays and flights -> monthly_report, and exactly one materialization
per table and run with its partition and rows, as counted from the raw data; `flights-etl status` reads
the same rows."""
import hashlib
import json
import os
from datetime import date

import pytest
from dagster import DagsterInstance

from flights_etl.partitions import flights_daily_partition_set
from tests.backfill.cli_helpers import flights_etl
from tests.helpers import run_daily, run_monthly
from tests.raw_data import expected_daily_delays, expected_monthly_report, flights_on, weather_on
from tests.ui.dagit import REPOSITORY, graphql

ASSET_NODES = "{ assetNodes { assetKey { path } dependencyKeys { path } jobNames } }"

MATERIALIZATIONS = """
query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
  assetMaterializations { runId partition metadataEntries { label
    ... on IntMetadataEntry { intValue } ... on BoolMetadataEntry { boolValue }
    ... on PathMetadataEntry { path } ... on TextMetadataEntry { text } ... on MarkdownMetadataEntry { mdStr }
  } } } } }"""


def test_the_asset_graph_runs_from_the_landing_files_to_the_monthly_report(start_dagit, page):
    base = start_dagit().url
    nodes = {tuple(node["assetKey"]["path"]): node for node in graphql(page, base, ASSET_NODES)["assetNodes"]}
    upstream = {key: {tuple(dep["path"]) for dep in node["dependencyKeys"]} for key, node in nodes.items()}
    landing = {("landing", "flights"), ("landing", "weather")}
    assert upstream == {
        ("landing", "flights"): set(),
        ("landing", "weather"): set(),
        ("warehouse", "flights"): landing,
        ("warehouse", "weather"): landing,
        ("warehouse", "daily_delays"): landing,
        ("warehouse", "monthly_report"): {("warehouse", "flights")},
    }
    assert nodes[("warehouse", "daily_delays")]["jobNames"] == ["flights_daily_pipeline"]
    assert nodes[("warehouse", "monthly_report")]["jobNames"] == ["flights_monthly_pipeline"]

    # The graph page draws the same nodes (its screenshot, test-artifacts/<test>.png, is docs/asset_graph.png).
    page.goto(f"{base}/workspace/{REPOSITORY}/asset-groups/default")
    for name in ("monthly_report", "daily_delays"):
        page.get_by_text(name, exact=True).first.wait_for()


def _materializations(page, base, table):
    found = graphql(page, base, MATERIALIZATIONS, {"path": ["warehouse", table]})["assetOrError"]
    return [
        {"run": m["runId"], "partition": m["partition"],
         **{e["label"]: next((v for k, v in e.items() if k != "label"), None) for e in m["metadataEntries"]}}
        for m in found["assetMaterializations"]
    ]


@pytest.mark.slow
def test_each_table_has_one_materialization_per_run_with_its_partition_and_rows(
    start_dagit, page, dagit_env, monkeypatch
):
    for name in ("FLIGHTS_WAREHOUSE", "FLIGHTS_LANDING_DIR"):
        monkeypatch.setenv(name, dagit_env[name])
    days = [name for name in flights_daily_partition_set.get_partition_names() if name.startswith("2013-02")]
    backfill = flights_etl(dagit_env, "backfill", "--partition-set", "flights_daily_partition_set",
                           "--from", days[0], "--to", days[-1])
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    resources_config = {"warehouse": {"config": {"lock_timeout_s": 10.0}}}
    with DagsterInstance.from_config(dagit_env["DAGSTER_HOME"]) as instance:
        run_of = {run.tags["dagster/partition"]: run.run_id for run in instance.get_runs()}
        assert sorted(run_of) == days
        reload = run_daily("2013-02-14", resources_config, instance)  # a second run of one day, in-process
        month = run_monthly("2013-02", resources_config, instance)
        assert reload.success and month.success
    base = start_dagit().url

    expected_rows = {
        "flights": lambda day: len(flights_on(day)),
        "weather": lambda day: len(weather_on(day)),
        "daily_delays": lambda day: len(expected_daily_delays(day)),
    }
    for table, rows_of in expected_rows.items():
        got = _materializations(page, base, table)
        runs = [m["run"] for m in got]
        assert sorted(runs) == sorted([*run_of.values(), reload.run_id]), table  # one per run, no more
        for m in got:
            day = "2013-02-14" if m["run"] == reload.run_id else next(d for d, r in run_of.items() if r == m["run"])
            assert (m["partition"], m["rows"]) == (day, rows_of(date.fromisoformat(day))), (table, m)
            assert "carrier" in m["preview"] if table != "weather" else "origin" in m["preview"], (table, m)
        sample = next(m for m in got if m["run"] == run_of["2013-02-01"])
        if table != "daily_delays":
            with open(sample["source_file"], "rb") as landed:
                assert sample["source_sha256"] == hashlib.sha256(landed.read()).hexdigest()
            assert sample["source_file"].startswith(os.path.abspath(dagit_env["FLIGHTS_LANDING_DIR"]))
        if table != "flights":
            assert sample["weather_gap"] is False
    [report] = _materializations(page, base, "monthly_report")
    assert (report["run"], report["partition"], report["rows"]) == (
        month.run_id, "2013-02", len(expected_monthly_report(2013, 2)))

    # `flights-etl status` reads the rows of each day's latest flights materialization, as before.
    latest = {**run_of, "2013-02-14": reload.run_id}
    status = flights_etl(dagit_env, "status", "--json")
    assert status.returncode == 0, status.stderr
    loaded = {p["partition"]: p for p in json.loads(status.stdout)["partitions"] if p["partition"] in latest}
    assert {day: (p["run_id"], p["rows"]) for day, p in loaded.items()} == {
        day: (run_id, len(flights_on(date.fromisoformat(day)))) for day, run_id in latest.items()}
    monthly = flights_etl(dagit_env, "status", "--json", "--partition-set", "flights_monthly_partition_set")
    assert monthly.returncode == 0, monthly.stderr
    [february] = [p for p in json.loads(monthly.stdout)["partitions"] if p["partition"] == "2013-02"]
    assert (february["run_id"], february["rows"]) == (month.run_id, len(expected_monthly_report(2013, 2)))
